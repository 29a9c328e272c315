"""Rule 5: lock in a position's profit once it reaches a target."""

from __future__ import annotations

from risk_manager.domain.money import cents, usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    QuoteTrigger,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import MaxUnrealizedProfit


class MaxUnrealizedProfitRule(Rule):
    """Trigger: a position's unrealized profit ≥ `target`.

    Action: close that position (taking the profit).
    Release: none (no lockout).
    """

    name = "max_unrealized_profit"
    triggers = frozenset({Trigger.QUOTE})
    params: MaxUnrealizedProfit

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Close the quoted symbol's position when its open profit reaches the target."""
        if not isinstance(event, QuoteTrigger):
            return []
        position = ctx.account.positions.get(event.symbol)
        if position is None:
            return []
        profit, target = cents(position.unrealized), self.params.target
        if profit < target:
            return []
        reason = (
            f"unrealized profit {usd(profit)} on {position.symbol} ({position.size:+d}) "
            f"reached the {usd(target)} target"
        )
        trigger = {
            "symbol": position.symbol, "price": str(event.price), "unrealized": str(profit),
            "target": str(target),
        }  # fmt: skip
        actions = (Action(ActionKind.CLOSE, position.symbol),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions)]
