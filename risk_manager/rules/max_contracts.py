"""Rule 1: cap on gross open contracts across all symbols."""

from __future__ import annotations

from datetime import timedelta

from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import MaxContracts
from risk_manager.state.ledger import Position


def reductions(positions: list[Position], excess: int, newest_first: str | None) -> list[Action]:
    """REDUCE actions that remove `excess` contracts, newest exposure first."""
    ordered = sorted(positions, key=lambda p: p.opened_at, reverse=True)
    # The symbol a fill just added to is the newest exposure even if its position is older.
    ordered.sort(key=lambda p: p.symbol != newest_first)
    actions: list[Action] = []
    for position in ordered:
        if excess <= 0:
            break
        quantity = min(abs(position.size), excess)
        actions.append(Action(ActionKind.REDUCE, position.symbol, quantity=quantity))
        excess -= quantity
    return actions


class MaxContractsRule(Rule):
    """Trigger: a fill leaves gross open contracts (sum of |size|) above `limit`.

    Action: reduce the excess, newest exposure first (or flatten with `close_all`).
    Release: no lockout, unless `lockout_minutes` asks for a timed one.
    """

    name = "max_contracts"
    triggers = frozenset({Trigger.FILL})
    params: MaxContracts

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Reduce (or flatten) when the gross position exceeds the limit."""
        if not isinstance(event, FillTrigger) or event.effect is None:
            return []
        account = ctx.account
        gross, limit = account.gross_contracts, self.params.limit
        if gross <= limit:
            return []
        if self.params.close_all:
            actions = [Action(ActionKind.FLATTEN)]
        else:
            added = event.fill.symbol if event.effect.opened else None
            actions = reductions(list(account.positions.values()), gross - limit, added)
        reason = f"{gross} open contracts exceed the limit of {limit}"
        lockout = None
        if self.params.lockout_minutes is not None:
            until = ctx.now + timedelta(minutes=self.params.lockout_minutes)
            lockout = LockoutRequest(LockoutEnd.TIME, until, reason)
        trigger = {"gross": gross, "limit": limit, "symbol": event.fill.symbol}
        return [Violation(self.name, account.account_id, reason, trigger, tuple(actions), lockout)]
