"""Rule 4: limit on open (unrealized) loss, per position or for the whole account."""

from __future__ import annotations

from decimal import Decimal

from risk_manager.domain.money import ZERO, cents, usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    LockoutEnd,
    LockoutRequest,
    LossGauge,
    QuoteTrigger,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import DailyUnrealizedLoss


class DailyUnrealizedLossRule(Rule):
    """Trigger: a position's (`scope = "position"`) or all positions' (`scope = "total"`)
    unrealized loss reaches `limit`.

    Action: close that position / flatten the account.
    Release: no lockout unless `lockout = true`, then the daily reset.
    """

    name = "daily_unrealized_loss"
    triggers = frozenset({Trigger.QUOTE})
    params: DailyUnrealizedLoss

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Close the losing position (or flatten) once the open loss reaches the limit."""
        if not isinstance(event, QuoteTrigger):
            return []
        limit = self.params.limit
        if self.params.scope == "total":
            loss = cents(ctx.account.unrealized)
            gauge = self._gauge("total unrealized loss", loss)
            what = "total unrealized loss"
            action = Action(ActionKind.FLATTEN)
        else:
            position = ctx.account.positions.get(event.symbol)
            if position is None:
                return []
            loss = cents(position.unrealized)
            gauge = self._gauge(f"unrealized loss on {position.symbol}", loss)
            what = f"unrealized loss on {position.symbol} ({position.size:+d})"
            action = Action(ActionKind.CLOSE, position.symbol)
        if not gauge.breached:
            return []
        reason = f"{what} {usd(loss)} reached the {usd(-limit)} limit"
        lockout = None
        if self.params.lockout:
            until = ctx.calendar.next_reset(ctx.now)
            lockout = LockoutRequest(LockoutEnd.DAILY_RESET, until, reason)
        trigger = {
            "scope": self.params.scope, "symbol": event.symbol, "price": str(event.price),
            "unrealized": str(loss), "limit": str(limit),
        }  # fmt: skip
        return [Violation(self.name, ctx.account.account_id, reason, trigger, (action,), lockout)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        if self.params.scope == "total":
            return [self._gauge("total unrealized loss", cents(ctx.account.unrealized))]
        return [
            self._gauge(f"unrealized loss on {symbol}", cents(position.unrealized))
            for symbol, position in sorted(ctx.account.positions.items())
        ]

    def _gauge(self, name: str, unrealized: Decimal) -> LossGauge:
        return LossGauge(name, max(ZERO, -unrealized), self.params.limit)
