"""Rule 9: session_block_outside and its window math (midnight, holidays, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from risk_manager.rules.base import Action, ActionKind, LockoutEnd, TickTrigger, TradingState
from risk_manager.rules.params import SessionBlockOutside, SessionWindow
from risk_manager.rules.session_block_outside import SessionBlockOutsideRule
from risk_manager.rules.sessions import SessionSchedule
from tests.rules.conftest import CHICAGO, book, make_ctx, position

GLOBEX = SessionWindow(days=("sun", "mon", "tue", "wed", "thu"), start=time(17), end=time(16))
RTH = SessionWindow(start=time(8, 30), end=time(15))


def chicago(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO).astimezone(UTC)  # type: ignore[misc]


def schedule(*windows: SessionWindow, **extra: object) -> SessionSchedule:
    return SessionSchedule.from_params(SessionBlockOutside(windows=windows, **extra))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        (chicago(2026, 3, 10, 10, 0), True),  # Tuesday morning
        (chicago(2026, 3, 10, 15, 59), True),
        (chicago(2026, 3, 10, 16, 0), False),  # the end is exclusive
        (chicago(2026, 3, 10, 16, 59), False),
        (chicago(2026, 3, 10, 17, 0), True),  # the start is inclusive
        (chicago(2026, 3, 10, 23, 30), True),  # past midnight is the same window
        (chicago(2026, 3, 13, 16, 30), False),  # Friday after the close
        (chicago(2026, 3, 14, 12, 0), False),  # Saturday
    ],
)
def test_window_crossing_midnight(instant: datetime, is_open: bool) -> None:
    assert schedule(GLOBEX).is_open("ES", instant) is is_open


def test_next_open_over_the_weekend_of_the_march_dst_change() -> None:
    # Sunday 8 March 2026 is on CDT (UTC-5): 17:00 is 22:00 UTC, not 23:00.
    found = schedule(GLOBEX).next_open("ES", chicago(2026, 3, 7, 12, 0))
    assert found == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)


def test_next_open_over_the_weekend_of_the_november_dst_change() -> None:
    # Sunday 1 November 2026 is back on CST (UTC-6): 17:00 is 23:00 UTC.
    found = schedule(GLOBEX).next_open("ES", chicago(2026, 10, 31, 12, 0))
    assert found == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)


def test_ambiguous_hour_of_november_change_is_inside_the_window() -> None:
    first_130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 CDT
    second_130 = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 01:30 CST
    overnight = SessionWindow(days=("sat",), start=time(22), end=time(3))
    assert schedule(overnight).is_open("ES", first_130)
    assert schedule(overnight).is_open("ES", second_130)
    # 03:00 CST on Sunday = 09:00 UTC: a window of five wall hours lasted six real ones.
    assert not schedule(overnight).is_open("ES", datetime(2026, 11, 1, 9, 0, tzinfo=UTC))


def test_window_starting_in_the_spring_forward_gap_opens_after_the_jump() -> None:
    window = SessionWindow(days=("sun",), start=time(2, 30), end=time(10))
    found = schedule(window).next_open("ES", chicago(2026, 3, 7, 12, 0))
    assert found == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)  # 03:30 CDT


def test_holiday_is_closed_all_day_and_next_open_skips_it() -> None:
    sessions = schedule(RTH, holidays=(date(2026, 7, 3),))
    assert not sessions.is_open("ES", chicago(2026, 7, 3, 10, 0))
    assert sessions.next_open("ES", chicago(2026, 7, 2, 16, 0)) == chicago(2026, 7, 6, 8, 30)


def test_holiday_cuts_a_midnight_window_at_the_date_line() -> None:
    sessions = schedule(GLOBEX, holidays=(date(2026, 1, 19),))  # a Monday
    assert sessions.is_open("ES", chicago(2026, 1, 18, 20, 0))
    assert not sessions.is_open("ES", chicago(2026, 1, 19, 0, 0))
    assert sessions.next_open("ES", chicago(2026, 1, 19, 10, 0)) == chicago(2026, 1, 20, 0, 0)


def test_override_replaces_windows_for_its_root_only() -> None:
    crude = SessionWindow(start=time(8), end=time(13, 30))
    sessions = schedule(RTH, overrides={"CL": (crude,)})
    at = chicago(2026, 3, 10, 14, 0)
    assert sessions.is_open("ES", at)
    assert not sessions.is_open("CL", at)
    assert not sessions.is_open("MCL", chicago(2026, 3, 10, 8, 0))  # MCL is not CL


RULE = SessionBlockOutsideRule(SessionBlockOutside(windows=(RTH,)))


def test_entry_outside_then_account_locked_until_next_start() -> None:
    ctx = make_ctx(now=chicago(2026, 3, 10, 15, 30))
    (violation,) = RULE.evaluate(ctx, book(ctx, "MESH6", 1, "5000", ts=ctx.now))
    assert violation.actions == ()  # the gate undoes the entry under the new lockout
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.NEXT_SESSION
    assert violation.lockout.symbol is None
    assert violation.lockout.state is TradingState.REDUCING
    assert violation.lockout.until == chicago(2026, 3, 11, 8, 30)


EVENING = SessionWindow(start=time(8, 30), end=time(16, 30))
WITH_OVERRIDE = SessionBlockOutsideRule(
    SessionBlockOutside(windows=(RTH,), overrides={"CL": (EVENING,)})
)


def test_override_breach_locks_only_that_root_until_its_own_next_start() -> None:
    ctx = make_ctx(now=chicago(2026, 3, 10, 16, 45))  # after CL's 16:30 close
    (violation,) = WITH_OVERRIDE.evaluate(ctx, book(ctx, "CLJ6", 1, "70", ts=ctx.now))
    assert violation.lockout is not None
    assert violation.lockout.symbol == "CL"
    assert violation.lockout.until == chicago(2026, 3, 11, 8, 30)
    assert "CL's own sessions" in violation.reason


def test_override_root_inside_its_window_is_allowed_while_account_window_is_shut() -> None:
    ctx = make_ctx(now=chicago(2026, 3, 10, 16, 0))  # RTH closed at 15:00, CL open to 16:30
    assert WITH_OVERRIDE.evaluate(ctx, book(ctx, "CLJ6", 1, "70", ts=ctx.now)) == []
    (violation,) = WITH_OVERRIDE.evaluate(ctx, book(ctx, "ESH6", 1, "5000", ts=ctx.now))
    assert violation.lockout is not None
    assert violation.lockout.symbol is None  # the account-wide windows were broken


def test_session_end_closes_only_positions_outside_their_own_windows() -> None:
    held = (position("ESH6", 1, "5000"), position("CLJ6", -2, "70"))
    ctx = make_ctx(*held, now=chicago(2026, 3, 10, 15, 0))
    (violation,) = WITH_OVERRIDE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.CLOSE, "ESH6"),)  # CL stays: inside
    assert violation.lockout is not None
    assert violation.lockout.symbol is None
    ctx.now = chicago(2026, 3, 10, 16, 30)
    ctx.account.positions.pop("ESH6")
    (violation,) = WITH_OVERRIDE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.CLOSE, "CLJ6"),)
    assert violation.lockout is not None
    assert violation.lockout.symbol == "CL"


def test_entry_inside_then_quiet_and_exit_outside_is_allowed() -> None:
    ctx = make_ctx(now=chicago(2026, 3, 10, 14, 59))
    assert RULE.evaluate(ctx, book(ctx, "MESH6", 1, "5000", ts=ctx.now)) == []
    ctx.now = chicago(2026, 3, 10, 15, 30)
    assert RULE.evaluate(ctx, book(ctx, "MESH6", -1, "5000", ts=ctx.now)) == []


def test_session_end_with_positions_then_closes_them() -> None:
    ctx = make_ctx(position("ESH6", 1, "5000"), now=chicago(2026, 3, 13, 15, 0))
    (violation,) = RULE.evaluate(ctx, TickTrigger())
    assert violation.actions == (Action(ActionKind.CLOSE, "ESH6"),)
    assert violation.lockout is not None
    assert violation.lockout.until == chicago(2026, 3, 16, 8, 30)  # Monday


def test_session_end_when_flat_or_disabled_then_quiet() -> None:
    after = chicago(2026, 3, 10, 15, 1)
    assert RULE.evaluate(make_ctx(now=after), TickTrigger()) == []
    keep = SessionBlockOutsideRule(SessionBlockOutside(windows=(RTH,), flatten_at_end=False))
    assert keep.evaluate(make_ctx(position("ESH6", 1, "5000"), now=after), TickTrigger()) == []
