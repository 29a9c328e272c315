"""The trader's clock-in / clock-out log: one open session at most, weekly totals.

A week is the ISO week of the *trading day* (its timezone and reset time), so the Sunday-evening
Globex open already counts toward the new week, the way a futures trader reckons it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.errors import StorageUnavailable
from risk_manager.state.store import Store
from risk_manager.state.trader_session_rows import SessionAlreadyOpen, SessionRow


class SessionConflict(Exception):
    """Clock-in while clocked in, or clock-out while not; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    started_at: datetime
    ended_at: datetime | None

    def seconds(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> float:
        """Length of the session (open sessions run until `now`), clipped to [start, end)."""
        begin = max(self.started_at, start) if start else self.started_at
        finish = self.ended_at or now
        finish = min(finish, end) if end else finish
        return max(0.0, (finish - begin).total_seconds())

    def view(self, now: datetime) -> dict[str, Any]:
        """The session as JSON."""
        seconds = self.seconds(now)
        return {
            "session_id": self.id,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "open": self.ended_at is None,
            "duration_seconds": round(seconds, 1),
            "duration": hms(seconds),
        }


def hms(seconds: float) -> str:
    """Seconds as h:mm:ss."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _session(row: SessionRow) -> Session:
    return Session(row.id, row.started_at, row.ended_at)


class TraderSessions:
    """Clock-in / clock-out records in the daemon's database."""

    def __init__(self, store: Store, calendar: TradingCalendar) -> None:
        self.store = store
        self.calendar = calendar

    def current(self) -> Session | None:
        """The open session, if the trader is clocked in."""
        row = self.store.trader_sessions.open_session()
        return None if row is None else _session(row)

    def clock_in(self, now: datetime) -> dict[str, Any]:
        """Open a session; SessionConflict when one is already open."""
        self._need_storage()
        if (open_session := self.current()) is not None:
            raise SessionConflict(
                "already_clocked_in",
                f"already clocked in since {open_session.started_at.isoformat()}; clock out first",
            )
        try:
            with self.store.transaction():
                session_id = self.store.trader_sessions.start(now)
        except SessionAlreadyOpen:  # the one-open-session index: a racing clock-in won
            raise SessionConflict("already_clocked_in", "already clocked in") from None
        session = Session(session_id, now.astimezone(UTC), None)
        return {**session.view(now), **self._week_totals(now)}

    def clock_out(self, now: datetime) -> dict[str, Any]:
        """Close the open session; returns its duration and the week's total."""
        self._need_storage()
        session = self.current()
        if session is None:
            raise SessionConflict("not_clocked_in", "not clocked in; clock in first")
        ended = max(now, session.started_at)  # a clock moved backwards never makes it negative
        with self.store.transaction():
            self.store.trader_sessions.finish(session.id, ended)
        closed = Session(session.id, session.started_at, ended.astimezone(UTC))
        return {**closed.view(now), **self._week_totals(now)}

    def _need_storage(self) -> None:
        # The one-open-session check reads the database: it cannot see queued writes.
        if (failure := self.store.degraded) is not None:
            raise StorageUnavailable(
                "storage_unavailable", f"the daemon cannot write its database now: {failure}"
            )

    def overview(self, now: datetime) -> dict[str, Any]:
        """The open session (or None) and this week's sessions with the week's total."""
        start, end = self._week_bounds(now)
        sessions = self._overlapping(start, end)
        current = self.current()
        return {
            "current": None if current is None else current.view(now),
            **self._week_totals(now),
            "sessions": [session.view(now) for session in sessions],
        }

    def _week_totals(self, now: datetime) -> dict[str, Any]:
        start, end = self._week_bounds(now)
        total = sum(s.seconds(now, start, end) for s in self._overlapping(start, end))
        year, week, _ = self.calendar.day_of(now).isocalendar()
        return {
            "week": f"{year}-W{week:02d}",
            "week_starts_at": start.isoformat(),
            "week_total_seconds": round(total, 1),
            "week_total": hms(total),
        }

    def _week_bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) of the week of trading days (Monday..Sunday) that `now` falls in."""
        day = self.calendar.day_of(now)
        monday = day - timedelta(days=day.weekday())
        return self._day_start(monday), self._day_start(monday + timedelta(days=7))

    def _day_start(self, day: date) -> datetime:
        return self.calendar.reset_at(day - timedelta(days=1))

    def _overlapping(self, start: datetime, end: datetime) -> list[Session]:
        return [_session(row) for row in self.store.trader_sessions.overlapping(start, end)]
