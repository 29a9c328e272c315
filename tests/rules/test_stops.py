"""Rules 8 and 12: no_stop_loss_grace and trade_management."""

from __future__ import annotations

from datetime import timedelta

from risk_manager.domain.events import OrderType, Side
from risk_manager.rules.base import Action, ActionKind, QuoteTrigger, TickTrigger
from risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from risk_manager.rules.params import NoStopLossGrace, TradeManagement
from risk_manager.rules.trade_management import TradeManagementRule
from tests.rules.conftest import NOW, D, book, make_ctx, position, stop_order

GRACE = NoStopLossGraceRule(NoStopLossGrace(grace_seconds=30))


def test_unprotected_position_within_grace_then_quiet() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000", opened_at=NOW - timedelta(seconds=30)))
    assert GRACE.evaluate(ctx, TickTrigger()) == []


def test_unprotected_position_past_grace_then_closes_once_per_grace() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000", opened_at=NOW - timedelta(seconds=31)))
    (violation,) = GRACE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.CLOSE, "MNQH6"),)
    ctx.now += timedelta(seconds=1)
    assert GRACE.evaluate(ctx, TickTrigger()) == []  # the close is already asked for
    ctx.now += timedelta(seconds=30)
    assert len(GRACE.evaluate(ctx, TickTrigger())) == 1  # still there: ask again


def test_stop_on_the_wrong_side_does_not_protect() -> None:
    old = NOW - timedelta(minutes=5)
    ctx = make_ctx(
        position("ESH6", -1, "5000", opened_at=old),
        position("NQH6", -1, "21000", opened_at=old),
        orders=[
            stop_order("ESH6", Side.SELL, "5010", order_id="a"),
            stop_order("NQH6", Side.BUY, None, order_id="b", kind=OrderType.TRAILING_STOP),
        ],
    )
    (violation,) = GRACE.evaluate(ctx, TickTrigger())
    assert violation.trigger["symbol"] == "ESH6"


def test_limit_order_is_not_a_protective_stop() -> None:
    ctx = make_ctx(
        position("ESH6", 1, "5000", opened_at=NOW - timedelta(minutes=5)),
        orders=[stop_order("ESH6", Side.SELL, "5010", kind=OrderType.LIMIT)],
    )
    assert len(GRACE.evaluate(ctx, TickTrigger())) == 1


def test_new_position_after_close_gets_its_own_grace_state() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000", opened_at=NOW - timedelta(minutes=1)))
    assert len(GRACE.evaluate(ctx, TickTrigger())) == 1
    book(ctx, "MNQH6", -1, "21000", ts=NOW)  # closed out ...
    assert GRACE.evaluate(ctx, book(ctx, "MNQH6", -1, "21000", ts=NOW)) == []  # ... new short
    assert ctx.rule_state == {"asked": {}}  # the old position's entry was cleared
    ctx.now += timedelta(seconds=31)
    assert len(GRACE.evaluate(ctx, TickTrigger())) == 1


BE = TradeManagementRule(TradeManagement(breakeven_trigger_ticks=8, breakeven_offset_ticks=1))
TRAIL = TradeManagementRule(
    TradeManagement(breakeven_trigger_ticks=8, trail_activation_ticks=16, trail_distance_ticks=8)
)


def quote(rule: TradeManagementRule, ctx: object, symbol: str, price: str) -> list[Action]:
    violations = rule.evaluate(ctx, QuoteTrigger(symbol, D(price)))  # type: ignore[arg-type]
    return [action for v in violations for action in v.actions]


def test_breakeven_trigger_one_tick_short_then_nothing() -> None:
    ctx = make_ctx(position("MNQH6", 2, "21000", price="21001.75"))
    assert quote(BE, ctx, "MNQH6", "21001.75") == []


def test_breakeven_without_stop_then_places_one_at_entry_plus_offset() -> None:
    ctx = make_ctx(position("MNQH6", 2, "21000"))
    assert quote(BE, ctx, "MNQH6", "21002") == [
        Action(ActionKind.PLACE_STOP, "MNQH6", quantity=2, price=D("21000.25"), side=-1)
    ]
    ctx.now += timedelta(seconds=1)
    assert quote(BE, ctx, "MNQH6", "21003") == []  # the placed stop is still on its way


def test_breakeven_short_moves_existing_stop_down() -> None:
    ctx = make_ctx(
        position("ESH6", -1, "5000"), orders=[stop_order("ESH6", Side.BUY, "5005", order_id="s")]
    )
    assert quote(BE, ctx, "ESH6", "4998") == [
        Action(ActionKind.MOVE_STOP, "ESH6", order_id="s", price=D("4999.75"))
    ]


def test_stop_already_better_than_breakeven_is_never_moved_back() -> None:
    ctx = make_ctx(
        position("ESH6", 1, "5000"), orders=[stop_order("ESH6", Side.SELL, "5001", order_id="s")]
    )
    assert quote(BE, ctx, "ESH6", "5002.50") == []


def test_trailing_stop_follows_price_and_skips_pending_move() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000"), orders=[stop_order("MNQH6", Side.SELL, "20990")])
    assert quote(TRAIL, ctx, "MNQH6", "21004") == [
        Action(ActionKind.MOVE_STOP, "MNQH6", order_id="o1", price=D("21002"))
    ]
    assert quote(TRAIL, ctx, "MNQH6", "21004") == []  # same move still pending
    assert quote(TRAIL, ctx, "MNQH6", "21003") == []  # price fell back: never loosen
    assert quote(TRAIL, ctx, "MNQH6", "21004.50") == [
        Action(ActionKind.MOVE_STOP, "MNQH6", order_id="o1", price=D("21002.50"))
    ]


def test_off_grid_average_rounds_stop_away_from_price() -> None:
    ctx = make_ctx(position("MNQH6", -2, "21000.125"))
    (action,) = quote(BE, ctx, "MNQH6", "20997.125")
    # Short breakeven + 1 tick = 20999.875, rounded up (away from the price) to the grid.
    assert action.price == D("21000.00")
    assert action.side == 1
