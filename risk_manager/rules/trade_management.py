"""Rule 12: auto-breakeven and trailing stops, moved only ever in the trader's favour."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

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
from risk_manager.rules.no_stop_loss_grace import protective_stops
from risk_manager.rules.params import TradeManagement
from risk_manager.state.ledger import Position

# A PLACE_STOP whose order has not shown up after this long is asked again.
PLACE_RETRY = timedelta(seconds=10)


def desired_stop(params: TradeManagement, position: Position, price: Decimal) -> Decimal | None:
    """The stop the position has earned at `price` (on the tick grid, never past the price)."""
    sign = 1 if position.size > 0 else -1
    tick = position.spec.tick_size
    profit_ticks = (price - position.avg_price) / tick * sign
    candidates = []
    trigger, offset = params.breakeven_trigger_ticks, params.breakeven_offset_ticks
    if trigger is not None and profit_ticks >= trigger:
        candidates.append(position.avg_price + sign * offset * tick)
    activation, distance = params.trail_activation_ticks, params.trail_distance_ticks
    if activation is not None and distance is not None and profit_ticks >= activation:
        candidates.append(price - sign * distance * tick)
    if not candidates:
        return None
    best = max(candidates) if sign > 0 else min(candidates)
    # Round away from the price (down for a long's sell stop): a stop past the market would fill.
    rounding = ROUND_FLOOR if sign > 0 else ROUND_CEILING
    return (best / tick).quantize(Decimal(1), rounding=rounding) * tick


def better(sign: int, candidate: Decimal, than: Decimal | None) -> bool:
    """True when `candidate` is strictly better for the trader than `than` (a stop price)."""
    return than is None or (candidate - than) * sign > 0


class TradeManagementRule(Rule):
    """Trigger: a position's profit reaches `breakeven_trigger_ticks` (stop to entry +
    offset) or `trail_activation_ticks` (stop trails `trail_distance_ticks` behind the price).

    Action: move the protective stop (or place one), only ever in the trader's favour.
    Release: — (no lockout).
    """

    name = "trade_management"
    stateful = True
    triggers = frozenset({Trigger.QUOTE})
    params: TradeManagement

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Ask for a better stop on the quoted position when it has earned one."""
        if not isinstance(event, QuoteTrigger):
            return []
        # asked: symbol → {"opened_at", "stop", "kind", "at"} of our last request for a position.
        asked: dict[str, dict[str, str]] = ctx.rule_state.setdefault("asked", {})
        for symbol in [s for s in asked if s not in ctx.account.positions]:
            del asked[symbol]
            ctx.state_changed = True
        position = ctx.account.positions.get(event.symbol)
        if position is None:
            return []
        stop = desired_stop(self.params, position, event.price)
        if stop is None:
            return []  # the common case on a quote: checked before building the position's key
        sign = 1 if position.size > 0 else -1
        opened = f"{position.opened_at.isoformat()}/{sign}"
        mine = asked.get(event.symbol)
        if mine is not None and mine["opened_at"] != opened:
            mine = None  # a request for an earlier position in this symbol
        stops = protective_stops(position, ctx.working_orders)
        priced = [o for o in stops if o.stop_price is not None]
        if stops and not priced:
            return []  # a trailing stop without a price: the broker manages it
        if priced:
            current = max(priced, key=lambda o: o.stop_price * sign)  # type: ignore[operator]
            pending = Decimal(mine["stop"]) if mine and mine["kind"] == "move" else None
            if not better(sign, stop, current.stop_price) or not better(sign, stop, pending):
                return []
            action = Action(ActionKind.MOVE_STOP, event.symbol, order_id=current.order_id,
                            price=stop)  # fmt: skip
            verb, kind = f"move stop {current.order_id} from {current.stop_price} to", "move"
        else:
            if mine and mine["kind"] == "place" and not self._expired(mine, ctx.now):
                return []  # our stop order is on its way; placing another would double it
            action = Action(ActionKind.PLACE_STOP, event.symbol, quantity=abs(position.size),
                            price=stop, side=-sign)  # fmt: skip
            verb, kind = "place a stop at", "place"
        asked[event.symbol] = {
            "opened_at": opened, "stop": str(stop), "kind": kind, "at": ctx.now.isoformat(),
        }  # fmt: skip
        ctx.state_changed = True
        ticks = (event.price - position.avg_price) / position.spec.tick_size * sign
        reason = (
            f"{event.symbol} ({position.size:+d}) is {ticks:.0f} ticks in profit: {verb} {stop}"
        )
        trigger = {
            "symbol": event.symbol, "price": str(event.price), "avg_price": str(position.avg_price),
            "profit_ticks": str(ticks), "stop": str(stop),
        }  # fmt: skip
        return [Violation(self.name, ctx.account.account_id, reason, trigger, (action,))]

    @staticmethod
    def _expired(mine: dict[str, str], now: datetime) -> bool:
        return now - datetime.fromisoformat(mine["at"]) >= PLACE_RETRY
