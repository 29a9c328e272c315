"""Rules 8 and 12: no_stop_loss_grace and trade_management."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.events import Order, OrderType, Side
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
    # The old position's entry was replaced: the new short's grace runs from its own opening.
    assert ctx.rule_state == {"uncovered": {"MNQH6": {
        "opened": NOW.isoformat(), "qty": 1, "since": NOW.isoformat(), "asked": None,
    }}}  # fmt: skip
    ctx.now += timedelta(seconds=31)
    assert len(GRACE.evaluate(ctx, TickTrigger())) == 1


def sell_stop(symbol: str, quantity: int, order_id: str) -> Order:
    return replace(stop_order(symbol, Side.SELL, "20900", order_id=order_id), quantity=quantity)


def test_stop_covers_only_its_quantity_then_the_rest_is_reduced() -> None:
    old = NOW - timedelta(minutes=5)
    ctx = make_ctx(
        position("MNQH6", 3, "21000", opened_at=old), orders=[sell_stop("MNQH6", 1, "a")]
    )
    (violation,) = GRACE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.REDUCE, "MNQH6", 2),)  # 3 → the covered 1
    assert (violation.trigger["covered"], violation.trigger["uncovered"]) == (1, 2)


def test_several_stops_add_up_and_never_count_beyond_the_size() -> None:
    old = NOW - timedelta(minutes=5)
    stops = [sell_stop("MNQH6", 2, "a"), sell_stop("MNQH6", 1, "b")]
    assert GRACE.evaluate(make_ctx(position("MNQH6", 3, "21000", opened_at=old), orders=stops),
                          TickTrigger()) == []  # fmt: skip
    big = [sell_stop("MNQH6", 5, "a")]
    assert GRACE.evaluate(make_ctx(position("MNQH6", 3, "21000", opened_at=old), orders=big),
                          TickTrigger()) == []  # fmt: skip


def test_added_contracts_get_their_own_grace() -> None:
    old = NOW - timedelta(minutes=5)
    ctx = make_ctx(
        position("MNQH6", 1, "21000", opened_at=old), orders=[sell_stop("MNQH6", 1, "a")]
    )
    assert GRACE.evaluate(ctx, TickTrigger()) == []
    book(ctx, "MNQH6", 1, "21000")  # now 2 long, 1 covered: the added one is new exposure
    assert GRACE.evaluate(ctx, TickTrigger()) == []
    ctx.now += timedelta(seconds=31)
    (violation,) = GRACE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.REDUCE, "MNQH6", 1),)


@given(
    size=st.integers(1, 20),
    stops=st.lists(st.integers(1, 20), max_size=4),
)
def test_reduce_never_goes_below_the_covered_size(size: int, stops: list[int]) -> None:
    old = NOW - timedelta(minutes=5)
    orders = [sell_stop("MNQH6", q, str(i)) for i, q in enumerate(stops)]
    ctx = make_ctx(position("MNQH6", size, "21000", opened_at=old), orders=orders)
    violations = GRACE.evaluate(ctx, TickTrigger())
    covered = min(size, sum(stops))
    if covered == size:
        assert violations == []
        return
    (violation,) = violations
    (action,) = violation.actions
    left = 0 if action.kind is ActionKind.CLOSE else size - (action.quantity or 0)
    assert left == covered


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
