"""Property tests: invariants of max_contracts reductions and trade_management stops."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.domain.events import Side
from risk_manager.rules.base import ActionKind, QuoteTrigger
from risk_manager.rules.max_contracts import MaxContractsRule
from risk_manager.rules.params import MaxContracts, TradeManagement
from risk_manager.rules.trade_management import TradeManagementRule
from tests.rules.conftest import NOW, book, make_ctx, position, stop_order

SYMBOLS = ("ESH6", "MESH6", "NQH6", "MNQH6", "CLK6")
sizes = st.integers(-6, 6).filter(bool)


@settings(max_examples=150, deadline=None)
@given(
    held=st.lists(st.tuples(st.sampled_from(SYMBOLS), sizes), max_size=5, unique_by=lambda t: t[0]),
    fill=st.tuples(st.sampled_from(SYMBOLS), sizes),
    limit=st.integers(0, 10),
)
def test_max_contracts_reductions_bring_gross_exactly_to_limit(
    held: list[tuple[str, int]], fill: tuple[str, int], limit: int
) -> None:
    positions = [
        position(symbol, size, "100", opened_at=NOW - timedelta(minutes=i))
        for i, (symbol, size) in enumerate(held)
    ]
    ctx = make_ctx(*positions)
    trigger = book(ctx, fill[0], fill[1], "100")
    violations = MaxContractsRule(MaxContracts(limit=limit)).evaluate(ctx, trigger)
    gross = ctx.account.gross_contracts
    if gross <= limit:
        assert violations == []
        return
    (violation,) = violations
    reduced = {a.symbol: a.quantity or 0 for a in violation.actions}
    assert all(a.kind is ActionKind.REDUCE for a in violation.actions)
    assert len(reduced) == len(violation.actions)  # one REDUCE per symbol
    for symbol, quantity in reduced.items():
        assert 0 < quantity <= abs(ctx.account.positions[symbol].size)
    assert gross - sum(reduced.values()) == limit


ticks = st.integers(-40, 60)


@settings(max_examples=300, deadline=None)
@given(
    long=st.booleans(),
    move_ticks=ticks,
    stop_ticks=st.one_of(st.none(), st.integers(-30, 50)),
    trigger=st.integers(1, 12),
    activation=st.integers(1, 20),
    distance=st.integers(1, 15),
    avg_offset=st.sampled_from(["0", "0.125", "0.1"]),
)
def test_trade_management_never_worsens_a_stop_nor_passes_the_price(
    long: bool,
    move_ticks: int,
    stop_ticks: int | None,
    trigger: int,
    activation: int,
    distance: int,
    avg_offset: str,
) -> None:
    sign = 1 if long else -1
    tick = Decimal("0.25")
    avg = Decimal(21000) + Decimal(avg_offset)
    price = avg + sign * move_ticks * tick
    params = TradeManagement(
        breakeven_trigger_ticks=trigger,
        breakeven_offset_ticks=trigger // 2,
        trail_activation_ticks=activation,
        trail_distance_ticks=distance,
    )
    orders = []
    current = None
    if stop_ticks is not None:
        current = Decimal(21000) - sign * stop_ticks * tick
        orders = [stop_order("MNQH6", Side.SELL if long else Side.BUY, str(current))]
    ctx = make_ctx(position("MNQH6", 2 * sign, str(avg), price=str(price)), orders=orders)
    violations = TradeManagementRule(params).evaluate(ctx, QuoteTrigger("MNQH6", price))
    for action in (a for v in violations for a in v.actions):
        assert action.price is not None
        assert (price - action.price) * sign > 0  # on the protective side of the market
        assert action.price % tick == 0  # on the tick grid
        if current is not None:
            assert action.kind is ActionKind.MOVE_STOP
            assert (action.price - current) * sign > 0  # strictly better for the trader
        else:
            assert action.kind is ActionKind.PLACE_STOP
            assert action.side == -sign
