"""Rule 8: every position must get a protective stop within a grace period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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


def covered_quantity(position: Position, orders: list[Order]) -> int:
    """Contracts the protective stops cover: their quantities add up, capped at the size."""
    return min(
        abs(position.size), sum(order.quantity for order in protective_stops(position, orders))
    )


class NoStopLossGraceRule(Rule):
    """Trigger: part of a position has been without a protective stop (Stop / StopLimit /
    TrailingStop on the opposite side, same contract) for longer than `grace_seconds`. A stop
    covers only its own quantity; several stops add up (a 2-lot and a 1-lot stop cover 3).

    Action: reduce the position to the covered size (close it when nothing is covered).
    Release: none (no lockout). The grace runs from the position's opening; when the uncovered
    part grows later (more contracts, or a stop cancelled), the grace starts again from then.
    """

    name = "no_stop_loss_grace"
    stateful = True
    triggers = frozenset({Trigger.TICK, Trigger.FILL, Trigger.ORDER})
    params: NoStopLossGrace

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Track uncovered parts on every change; reduce them past the grace (every tick)."""
        grace = timedelta(seconds=self.params.grace_seconds)
        # symbol → {opened, qty, since, asked}: the position's opening, its uncovered quantity,
        # since when that much has been uncovered, and when we last asked for a reduce (so one
        # breach is enforced once per grace period rather than every second).
        tracked: dict[str, dict[str, Any]] = ctx.rule_state.setdefault("uncovered", {})
        self._track(ctx, tracked)
        if not isinstance(event, TickTrigger):
            return []
        violations = []
        for symbol, position in sorted(ctx.account.positions.items()):
            entry = tracked[symbol]
            if not entry["qty"]:
                continue
            age = ctx.now - datetime.fromisoformat(entry["since"])
            asked = entry["asked"]
            if age <= grace or (asked and ctx.now - datetime.fromisoformat(asked) < grace):
                continue
            entry["asked"] = ctx.now.isoformat()
            ctx.state_changed = True
            violations.append(self._violation(ctx, position, entry["qty"], age))
        return violations

    @staticmethod
    def _track(ctx: RuleContext, tracked: dict[str, dict[str, Any]]) -> None:
        """Bring the per-position record of uncovered contracts up to date."""
        # Covered positions are tracked too (qty 0), so a stop cancelled later starts a grace
        # from then rather than from the position's opening.
        missing = {
            symbol: abs(position.size) - covered_quantity(position, ctx.working_orders)
            for symbol, position in ctx.account.positions.items()
        }
        for symbol in list(tracked):
            position = ctx.account.positions.get(symbol)
            if position is None or tracked[symbol]["opened"] != position.opened_at.isoformat():
                del tracked[symbol]  # flat, or a new position since
                ctx.state_changed = True
        for symbol, position in ctx.account.positions.items():
            entry = tracked.get(symbol)
            if entry is None or missing[symbol] > entry["qty"]:
                since = position.opened_at if entry is None else ctx.now
                tracked[symbol] = {"opened": position.opened_at.isoformat(),
                                   "qty": missing[symbol], "since": since.isoformat(),
                                   "asked": None}  # fmt: skip
                ctx.state_changed = True
            elif missing[symbol] < entry["qty"]:
                entry["qty"] = missing[symbol]
                ctx.state_changed = True

    def _violation(
        self, ctx: RuleContext, position: Position, missing: int, age: timedelta
    ) -> Violation:
        symbol, size = position.symbol, abs(position.size)
        covered = size - missing
        reason = (
            f"{symbol} position ({position.size:+d}): {missing} of {size} contract(s) without a "
            f"protective stop for {int(age.total_seconds())} s (grace "
            f"{self.params.grace_seconds} s)"
        )
        trigger = {
            "symbol": symbol, "size": position.size, "covered": covered, "uncovered": missing,
            "opened_at": position.opened_at.isoformat(),
            "age_seconds": int(age.total_seconds()), "grace_seconds": self.params.grace_seconds,
        }  # fmt: skip
        if covered == 0:
            action = Action(ActionKind.CLOSE, symbol)
        else:
            action = Action(ActionKind.REDUCE, symbol, missing)
        return Violation(self.name, ctx.account.account_id, reason, trigger, (action,))
