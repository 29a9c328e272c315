"""The trader's personal lockout: a restriction traders put on themselves and cannot lift.

It flattens the account and halts it until its end; a second lock may only extend it (the
lockout book keeps whichever lasts longer), and only an admin may end it early.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.errors import InvalidRequest
from risk_manager.rules.base import LockoutEnd, LockoutRequest, TradingState

RULE = "personal_lockout"
MAX_LOCK = timedelta(days=7)


def personal_request(
    now: datetime,
    calendar: TradingCalendar,
    *,
    minutes: int | None = None,
    until: datetime | None = None,
    rest_of_day: bool = False,
) -> LockoutRequest:
    """The lockout asked for: for `minutes`, until an instant, or until the daily reset.

    Exactly one of the three must be given; the end must lie in the future, within a week.
    """
    if sum((minutes is not None, until is not None, rest_of_day)) != 1:
        raise InvalidRequest(
            "invalid_lock", "give exactly one of minutes, until or rest_of_day = true"
        )
    if rest_of_day:
        end = calendar.next_reset(now)
        return LockoutRequest(
            LockoutEnd.DAILY_RESET, end, "personal lockout for the rest of the trading day",
            state=TradingState.HALTED,
        )  # fmt: skip
    if minutes is not None:
        end = now + timedelta(minutes=minutes)
    else:
        assert until is not None
        if until.tzinfo is None:
            raise InvalidRequest(
                "naive_time", "give `until` with a UTC offset, e.g. 2026-03-10T15:00-05:00"
            )
        end = until
    if not now < end <= now + MAX_LOCK:
        raise InvalidRequest(
            "invalid_lock", f"the lockout must end after now and within {MAX_LOCK.days} days"
        )
    # The end is in the lockout's `until`; screens show it in the trading-day zone, so the
    # reason does not repeat it as a UTC timestamp.
    return LockoutRequest(
        LockoutEnd.TIME, end, "personal lockout for a set time", state=TradingState.HALTED
    )
