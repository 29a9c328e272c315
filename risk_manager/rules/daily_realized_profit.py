"""Rule 13: stop for the day once the realized profit target is reached."""

from __future__ import annotations

from risk_manager.domain.money import usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import DailyRealizedProfit


class DailyRealizedProfitRule(Rule):
    """Trigger: today's realized net PnL ≥ `target`.

    Action: flatten the account and cancel all orders, then lock it out.
    Release: the daily reset.
    """

    name = "daily_realized_profit"
    triggers = frozenset({Trigger.FILL})
    params: DailyRealizedProfit

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Flatten and lock out once the day's profit reaches the target."""
        if not isinstance(event, FillTrigger):
            return []
        realized, target = ctx.account.day.realized_net, self.params.target
        if realized < target:
            return []
        reason = f"daily realized profit {usd(realized)} reached the {usd(target)} target"
        trigger = {"realized": str(realized), "target": str(target)}
        until = ctx.calendar.next_reset(ctx.now)
        lockout = LockoutRequest(LockoutEnd.DAILY_RESET, until, reason, state=TradingState.HALTED)
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]
