"""Loss gauges: a rule's breach and its early warnings read the same number (property)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from risk_manager.rules.base import QuoteTrigger
from risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from risk_manager.rules.params import DailyRealizedLoss, DailyUnrealizedLoss, TrailingDrawdown
from risk_manager.rules.trailing_drawdown import TrailingDrawdownRule
from tests.rules.conftest import make_ctx, position

cents = st.integers(-500_000, 500_000).map(lambda c: Decimal(c) / 100)
limits = st.integers(1, 300_000).map(lambda c: Decimal(c) / 100)
ticks = st.integers(-400, 400)


@given(cents, ticks, limits, st.booleans())
def test_daily_loss_breaches_exactly_when_its_gauge_is_full(
    realized: Decimal, move: int, limit: Decimal, with_open: bool
) -> None:
    price = Decimal(21000) + Decimal(move) / 4
    ctx = make_ctx(position("MNQ", 2, "21000", price=price), realized=str(realized))
    rule = DailyRealizedLossRule(DailyRealizedLoss(limit=limit, include_unrealized=with_open))
    [gauge] = rule.loss_gauges(ctx)
    fired = rule.evaluate(ctx, QuoteTrigger("MNQ", price))
    assert bool(fired) == gauge.breached
    assert gauge.limit == limit
    assert gauge.loss >= 0


@given(ticks, limits)
def test_open_loss_per_position_breaches_exactly_when_its_gauge_is_full(
    move: int, limit: Decimal
) -> None:
    price = Decimal(21000) + Decimal(move) / 4
    ctx = make_ctx(position("MNQ", -3, "21000", price=price))
    rule = DailyUnrealizedLossRule(DailyUnrealizedLoss(limit=limit))
    [gauge] = rule.loss_gauges(ctx)
    assert bool(rule.evaluate(ctx, QuoteTrigger("MNQ", price))) == gauge.breached
    assert gauge.name == "unrealized loss on MNQ"


@given(cents, limits, st.integers(0, 1_000_000).map(lambda c: Decimal(c) / 100))
def test_trailing_drawdown_breaches_exactly_when_its_gauge_is_full(
    change: Decimal, max_loss: Decimal, gain: Decimal
) -> None:
    start = Decimal(50000)
    state = {"high_water": str(start + gain)}
    ctx = make_ctx(balance=str(start + change), rule_state=state)
    rule = TrailingDrawdownRule(TrailingDrawdown(max_loss=max_loss, starting_balance=start,
                                                 mode="intraday"))  # fmt: skip
    [gauge] = rule.loss_gauges(make_ctx(balance=str(start + change), rule_state=dict(state)))
    fired = rule.evaluate(ctx, QuoteTrigger("MNQ", Decimal(21000)))
    assert bool(fired) == gauge.breached
    assert gauge.limit == max_loss
