"""Rules 15 and 16: trailing_daily_loss and weekly_realized_loss, figures computed by hand.

MNQ is $2 a point; fills below carry no fee unless given, so values are easy to follow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.events import AccountUpdate
from risk_manager.rules.base import (
    ActionKind,
    DayEndTrigger,
    LockoutEnd,
    QuoteTrigger,
    RuleContext,
    TradingState,
    Violation,
)
from risk_manager.rules.params import TrailingDailyLoss, WeeklyRealizedLoss
from risk_manager.rules.trailing_daily_loss import TrailingDailyLossRule, daily_threshold
from risk_manager.rules.weekly_realized_loss import WeeklyRealizedLossRule, week_start
from tests.rules.conftest import ACCOUNT, CALENDAR, CHICAGO, D, book, make_ctx


def trail(**params: object) -> TrailingDailyLossRule:
    return TrailingDailyLossRule(TrailingDailyLoss(limit=D(500), **params))  # type: ignore[arg-type]


def quote(rule: TrailingDailyLossRule, ctx: RuleContext, price: str) -> list[Violation]:
    ctx.account.positions["MNQH6"].mark(D(price))
    return rule.evaluate(ctx, QuoteTrigger("MNQH6", D(price)))


def balance_update(rule: TrailingDailyLossRule, ctx: RuleContext) -> list[Violation]:
    """The broker's balance catches up with the books (as after every fill)."""
    ctx.account.balance += ctx.account.day.realized_net - (ctx.account.realized_in_balance or 0)
    ctx.account.realized_in_balance = ctx.account.day.realized_net
    update = AccountUpdate("a", ACCOUNT, ctx.now, ctx.account.balance, True)
    return rule.evaluate(ctx, update)


def fresh_day() -> RuleContext:
    ctx = make_ctx(balance="50000")
    ctx.account.realized_in_balance = D(0)
    return ctx


def test_trailing_daily_loss_example_from_50000_then_from_51200() -> None:
    rule = trail()
    ctx = fresh_day()
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000")) == []
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(49500)
    assert quote(rule, ctx, "20750.25") == []  # value 49,500.50
    (violation,) = quote(rule, ctx, "20750")  # value 49,500.00: reached at equality
    assert violation.trigger["threshold"] == "49500.00"
    assert violation.actions[0].kind is ActionKind.FLATTEN
    assert violation.lockout is not None
    assert (violation.lockout.end, violation.lockout.state) == (
        LockoutEnd.DAILY_RESET, TradingState.HALTED,
    )  # fmt: skip

    ctx = fresh_day()
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    assert quote(rule, ctx, "21600") == []  # value 51,200: the new peak
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(50700)
    assert quote(rule, ctx, "21350.25") == []  # 50,700.50
    (violation,) = quote(rule, ctx, "21350")
    assert violation.trigger["value"] == "50700.00"


def test_trail_from_realized_ignores_open_gains_but_checks_the_value() -> None:
    rule = trail(trail_from="realized")
    ctx = fresh_day()
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    assert quote(rule, ctx, "21600") == []  # open gain: the threshold stays 49,500
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(49500)
    rule.evaluate(ctx, book(ctx, "MNQH6", -1, "21600"))  # +1,200 realized
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(50700)
    assert balance_update(rule, ctx) == []  # the balance follows: nothing counted twice
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(50700)
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21600"))
    (violation,) = quote(rule, ctx, "21350")  # value 51,200 - 500 = 50,700
    assert violation.trigger["peak"] == "51200.00"


def test_plain_liquidate_restarts_from_the_balance_once_flat() -> None:
    rule = trail(action="liquidate")
    ctx = fresh_day()
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    (violation,) = quote(rule, ctx, "20750")
    assert violation.lockout is None
    assert rule.evaluate(ctx, book(ctx, "MNQH6", -1, "20750")) == []  # flat at 49,500
    assert daily_threshold(ctx.rule_state, rule.params.limit) == D(49000)
    balance_update(rule, ctx)
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "20750"))
    assert quote(rule, ctx, "20500.25") == []  # 49,000.50
    assert len(quote(rule, ctx, "20500")) == 1  # 49,000.00


def test_day_end_restarts_the_peak_from_the_new_days_value() -> None:
    rule = trail()
    ctx = fresh_day()
    ctx.rule_state.update(day="2026-03-09", peak="53000", restart=False)  # yesterday's
    assert rule.evaluate(ctx, DayEndTrigger(date(2026, 3, 9), D(50000))) == []
    assert ctx.rule_state == {"day": "2026-03-10", "peak": "50000.00", "restart": False}


@given(prices=st.lists(st.integers(20000 * 4, 22000 * 4), min_size=1, max_size=30))
def test_threshold_only_rises_and_never_above_peak_minus_limit(prices: list[int]) -> None:
    rule = trail(action="liquidate")
    ctx = fresh_day()
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    highest = D(50000)
    last = daily_threshold(ctx.rule_state, rule.params.limit)
    for quarter_ticks in prices:
        if "MNQH6" not in ctx.account.positions:
            break
        price = Decimal(quarter_ticks) / 4
        value = D(50000) + (price - 21000) * 2
        violations = quote(rule, ctx, str(price))
        highest = max(highest, value)
        threshold = daily_threshold(ctx.rule_state, rule.params.limit)
        assert threshold is not None
        assert last is not None
        assert threshold >= last
        assert threshold == highest - 500
        assert bool(violations) == (value <= threshold)
        if violations:
            break
        last = threshold


def weekly(limit: str = "1000", **params: object) -> WeeklyRealizedLossRule:
    return WeeklyRealizedLossRule(WeeklyRealizedLoss(limit=D(limit), **params))  # type: ignore[arg-type]


def chicago(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO).astimezone(UTC)  # type: ignore[misc]


def test_week_starts_sunday_17_chicago_across_dst() -> None:
    # Sunday 2026-03-08 is the spring-forward day: the week still opens at 17:00 local (CDT).
    assert week_start(CALENDAR, 6, chicago(2026, 3, 10, 10)) == chicago(2026, 3, 8, 17)
    assert week_start(CALENDAR, 6, chicago(2026, 3, 8, 16, 59)) == chicago(2026, 3, 1, 17)
    assert week_start(CALENDAR, 6, chicago(2026, 3, 8, 17)) == chicago(2026, 3, 8, 17)
    assert week_start(CALENDAR, 0, chicago(2026, 3, 10, 10)) == chicago(2026, 3, 9, 17)


def test_weekly_loss_adds_up_across_days_and_locks_until_next_week() -> None:
    rule = weekly()
    monday = make_ctx(now=chicago(2026, 3, 9, 10))  # the week opened Sunday 8 March 17:00
    rule.evaluate(monday, book(monday, "MNQH6", 1, "21000", ts=monday.now, fee="0.37"))
    assert rule.evaluate(monday, book(monday, "MNQH6", -1, "20800", ts=monday.now,
                                      fee="0.37")) == []  # fmt: skip
    assert monday.rule_state["realized"] == "-400.74"  # -400 gross, two fees
    tuesday = make_ctx(now=chicago(2026, 3, 10, 10), rule_state=monday.rule_state)
    rule.evaluate(tuesday, book(tuesday, "MNQH6", -1, "21000", ts=tuesday.now))
    assert rule.evaluate(tuesday, book(tuesday, "MNQH6", 1, "21299.50", ts=tuesday.now)) == []
    assert tuesday.rule_state["realized"] == "-999.74"  # -599 more
    rule.evaluate(tuesday, book(tuesday, "MNQH6", -1, "21000", ts=tuesday.now))
    (violation,) = rule.evaluate(
        tuesday, book(tuesday, "MNQH6", 1, "21000.25", ts=tuesday.now, fee="0.37")
    )  # -0.50 gross, 0.37 fee: -1,000.61 ≤ -1,000
    assert violation.trigger["realized"] == "-1000.61"
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.TIME
    assert violation.lockout.until == chicago(2026, 3, 15, 17)  # the next Sunday open
    assert violation.lockout.state is TradingState.HALTED


def test_new_week_starts_from_zero() -> None:
    rule = weekly()
    last_week = make_ctx(now=chicago(2026, 3, 6, 10))
    rule.evaluate(last_week, book(last_week, "MNQH6", 1, "21000", ts=last_week.now))
    rule.evaluate(last_week, book(last_week, "MNQH6", -1, "20800", ts=last_week.now))
    assert last_week.rule_state["realized"] == "-400.00"
    ctx = make_ctx(now=chicago(2026, 3, 8, 17, 5), rule_state=last_week.rule_state)
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000", ts=ctx.now))
    assert ctx.rule_state == {"week": chicago(2026, 3, 8, 17).isoformat(), "realized": "0"}
    assert rule.loss_gauges(ctx)[0].loss == 0


def test_late_fill_from_an_ended_week_counts_in_no_week() -> None:
    """Friday's fill reported after the Sunday open: not in the new week, no lockout."""
    rule = weekly()
    ctx = make_ctx(now=chicago(2026, 3, 8, 17, 5))
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000", ts=ctx.now))
    assert rule.evaluate(ctx, book(ctx, "MNQH6", -1, "20600", ts=ctx.now)) == []
    assert ctx.rule_state["realized"] == "-800.00"
    friday = chicago(2026, 3, 6, 15, 59)
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000", ts=friday))
    assert rule.evaluate(ctx, book(ctx, "MNQH6", -1, "20800", ts=friday)) == []  # -400 last week
    assert ctx.rule_state["realized"] == "-800.00"
    # The same loss inside the week breaches: -800 - 400 ≤ -1,000.
    rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000", ts=ctx.now))
    (violation,) = rule.evaluate(ctx, book(ctx, "MNQH6", -1, "20800", ts=ctx.now))
    assert violation.trigger["realized"] == "-1200.00"
