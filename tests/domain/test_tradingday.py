"""Trading-day boundaries at 17:00 America/Chicago, across both DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from risk_manager.domain.tradingday import TradingCalendar

CHICAGO = ZoneInfo("America/Chicago")
CAL = TradingCalendar(time(17, 0), CHICAGO)


def test_before_the_reset_is_today_after_it_is_tomorrow() -> None:
    assert CAL.day_of(datetime(2026, 11, 24, 16, 59, 59, tzinfo=CHICAGO)) == date(2026, 11, 24)
    assert CAL.day_of(datetime(2026, 11, 24, 17, 0, tzinfo=CHICAGO)) == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 3, 6), 23),  # Friday before spring-forward: CST (UTC−6)
        (date(2026, 3, 9), 22),  # Monday after: CDT (UTC−5)
        (date(2026, 10, 30), 22),  # Friday before fall-back: CDT
        (date(2026, 11, 2), 23),  # Monday after: CST
    ],
)
def test_reset_is_17_chicago_on_both_sides_of_dst(day: date, utc_hour: int) -> None:
    reset = CAL.reset_at(day)
    assert reset.hour == utc_hour
    assert reset.astimezone(CHICAGO).time() == time(17, 0)


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 3, 8, 8, 30, tzinfo=UTC),  # 02:30 CST does not exist that morning
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 occurs twice that morning
    ],
)
def test_next_reset_across_the_dst_night_is_the_same_days_17h(instant: datetime) -> None:
    reset = CAL.next_reset(instant)
    local = reset.astimezone(CHICAGO)
    assert (local.date(), local.time()) == (instant.astimezone(CHICAGO).date(), time(17, 0))
    assert reset > instant


def test_days_across_spring_forward_are_23_hours_long() -> None:
    length = CAL.reset_at(date(2026, 3, 9)) - CAL.reset_at(date(2026, 3, 8))
    assert length.total_seconds() == 24 * 3600
    short = CAL.reset_at(date(2026, 3, 8)) - CAL.reset_at(date(2026, 3, 7))
    assert short.total_seconds() == 23 * 3600
