"""Rules 6–7: trade_frequency_limit and cooldown_after_loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from risk_manager.rules.base import Action, ActionKind, LockoutEnd
from risk_manager.rules.cooldown_after_loss import CooldownAfterLossRule
from risk_manager.rules.params import CooldownAfterLoss, LossTier, TradeFrequencyLimit
from risk_manager.rules.trade_frequency_limit import TradeFrequencyLimitRule
from tests.rules.conftest import NOW, D, book, make_ctx, position

RESET = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)


def test_entries_at_minute_limit_then_quiet_and_one_more_cools_down() -> None:
    rule = TradeFrequencyLimitRule(TradeFrequencyLimit(per_minute=2))
    ctx = make_ctx(entry_times=[NOW - timedelta(seconds=30)])
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000")) == []
    (violation,) = rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    assert violation.actions == ()  # the gate undoes the fill's exposure
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.TIME
    assert violation.lockout.until == NOW + timedelta(seconds=60)
    assert violation.trigger["per_minute"] == {"entries": 3, "limit": 2}


def test_entry_exactly_60s_ago_falls_out_of_the_minute_window() -> None:
    rule = TradeFrequencyLimitRule(TradeFrequencyLimit(per_minute=1))
    ctx = make_ctx(entry_times=[NOW - timedelta(seconds=60)])
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000")) == []


def test_exits_are_not_counted_as_entries() -> None:
    rule = TradeFrequencyLimitRule(TradeFrequencyLimit(per_minute=1))
    ctx = make_ctx(position("MNQH6", 3, "21000"), entry_times=[NOW, NOW])
    assert rule.evaluate(ctx, book(ctx, "MNQH6", -1, "21001")) == []


def test_several_windows_breached_then_longest_cooldown_applies() -> None:
    params = TradeFrequencyLimit(per_minute=1, per_hour=1, cooldown_seconds={"per_minute": 120})
    ctx = make_ctx(entry_times=[NOW - timedelta(seconds=10)])
    (violation,) = TradeFrequencyLimitRule(params).evaluate(ctx, book(ctx, "ESH6", -1, "5000"))
    assert violation.lockout is not None
    assert violation.lockout.until == NOW + timedelta(seconds=1800)  # per_hour's default
    assert set(violation.trigger) == {"per_minute", "per_hour", "fill"}


def test_per_day_breach_locks_until_reset_when_that_is_longest() -> None:
    params = TradeFrequencyLimit(per_minute=1, per_day=3)
    times = [NOW - timedelta(hours=h) for h in (3, 2)] + [NOW - timedelta(seconds=5)]
    ctx = make_ctx(entry_times=times)
    (violation,) = TradeFrequencyLimitRule(params).evaluate(ctx, book(ctx, "ESH6", 1, "5000"))
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.DAILY_RESET
    assert violation.lockout.until == RESET


def test_per_day_ignores_entries_of_the_previous_trading_day() -> None:
    params = TradeFrequencyLimit(per_day=1)
    after_reset = datetime(2026, 3, 9, 22, 30, tzinfo=UTC)  # 17:30 CDT: 10 March's day
    before_reset = datetime(2026, 3, 9, 21, 30, tzinfo=UTC)  # 16:30 CDT → 9 March's day
    ctx = make_ctx(entry_times=[before_reset])
    assert TradeFrequencyLimitRule(params).evaluate(ctx, book(ctx, "ESH6", 1, "5000")) == []
    ctx = make_ctx(entry_times=[after_reset])
    assert TradeFrequencyLimitRule(params).evaluate(ctx, book(ctx, "ESH6", 1, "5000")) != []


def tiers() -> CooldownAfterLoss:
    return CooldownAfterLoss(
        tiers=(
            LossTier(loss=D("300"), minutes=60),
            LossTier(loss=D("100"), minutes=10),
            LossTier(loss=D("200"), minutes=30),
        )
    )


def test_loss_reaching_several_tiers_then_worst_tier_applies() -> None:
    ctx = make_ctx(position("ESH6", 1, "5000"))
    # 5 points on ES = 250.00, plus 1.40 fee → 251.40 ≥ 200 but < 300.
    trigger = book(ctx, "ESH6", -1, "4995", fee="1.40")
    (violation,) = CooldownAfterLossRule(tiers()).evaluate(ctx, trigger)
    assert violation.actions == (Action(ActionKind.ALERT),)
    assert violation.lockout is not None
    assert violation.lockout.until == NOW + timedelta(minutes=30)
    assert violation.trigger["loss"] == "251.40"


def test_loss_exactly_at_tier_counts_fee_included() -> None:
    ctx = make_ctx(position("MNQH6", -1, "21000"))
    # 49.5 points against a short MNQ = 99.00, plus 1.00 fee = 100.00 exactly.
    trigger = book(ctx, "MNQH6", 1, "21049.50", fee="1.00")
    (violation,) = CooldownAfterLossRule(tiers()).evaluate(ctx, trigger)
    assert violation.lockout is not None
    assert violation.lockout.until == NOW + timedelta(minutes=10)


def test_loss_below_first_tier_or_winning_trade_then_quiet() -> None:
    ctx = make_ctx(position("MNQH6", -1, "21000"), position("ESH6", 1, "5000"))
    rule = CooldownAfterLossRule(tiers())
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21049.25", fee="1.00")) == []  # 99.50
    assert rule.evaluate(ctx, book(ctx, "ESH6", -1, "5010")) == []


def test_opening_fill_never_cools_down() -> None:
    ctx = make_ctx()
    assert (
        CooldownAfterLossRule(tiers()).evaluate(ctx, book(ctx, "ESH6", 1, "5000", fee="500")) == []
    )
