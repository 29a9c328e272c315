"""Rule 8: every position must get a protective stop within a grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

from risk_manager.domain.events import Order, OrderStatus
from risk_manager.rules.base import (
    Action,
    ActionKind,
    Rule,
    RuleContext,
    TickTrigger,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import NoStopLossGrace
from risk_manager.state.ledger import Position


def protective_stops(position: Position, orders: list[Order]) -> list[Order]:
    """Working stop-type orders on the position's contract, on the side that would close it."""
    closing_side = -1 if position.size > 0 else 1
    return [
        order
        for order in orders
        if order.symbol == position.symbol
        and order.status is OrderStatus.WORKING
        and order.type.is_protective
        and int(order.side) == closing_side
    ]


class NoStopLossGraceRule(Rule):
    """Trigger: a position open longer than `grace_seconds` has no protective stop (Stop /
    StopLimit / TrailingStop on the opposite side, same contract).

    Action: close that position.
    Release: none (no lockout).
    """

    name = "no_stop_loss_grace"
    stateful = True
    triggers = frozenset({Trigger.TICK, Trigger.FILL, Trigger.ORDER})
    params: NoStopLossGrace

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Close positions left unprotected past the grace period (checked every tick)."""
        grace = timedelta(seconds=self.params.grace_seconds)
        # asked: symbol → [opened_at, asked_at] of the last close we asked for, so one
        # unprotected position is reported once per grace period rather than every second.
        asked: dict[str, list[str]] = ctx.rule_state.setdefault("asked", {})
        unprotected = {
            symbol: position
            for symbol, position in ctx.account.positions.items()
            if not protective_stops(position, ctx.working_orders)
        }
        for symbol in list(asked):
            position = unprotected.get(symbol)
            if position is None or asked[symbol][0] != position.opened_at.isoformat():
                del asked[symbol]  # flat, protected, or a new position since
                ctx.state_changed = True
        if not isinstance(event, TickTrigger):
            return []
        violations = []
        for symbol, position in sorted(unprotected.items()):
            age = ctx.now - position.opened_at
            if age <= grace or self._recently_asked(asked.get(symbol), ctx.now, grace):
                continue
            asked[symbol] = [position.opened_at.isoformat(), ctx.now.isoformat()]
            ctx.state_changed = True
            reason = (
                f"{symbol} position ({position.size:+d}) has had no protective stop for "
                f"{int(age.total_seconds())} s (grace {self.params.grace_seconds} s)"
            )
            trigger = {
                "symbol": symbol, "size": position.size,
                "opened_at": position.opened_at.isoformat(),
                "age_seconds": int(age.total_seconds()), "grace_seconds": self.params.grace_seconds,
            }  # fmt: skip
            actions = (Action(ActionKind.CLOSE, symbol),)
            violations.append(
                Violation(self.name, ctx.account.account_id, reason, trigger, actions)
            )
        return violations

    @staticmethod
    def _recently_asked(entry: list[str] | None, now: datetime, grace: timedelta) -> bool:
        return entry is not None and now - datetime.fromisoformat(entry[1]) < grace
