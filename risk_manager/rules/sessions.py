"""Session-window math for `session_block_outside`: open intervals in a zone, DST-safe.

All local wall times go through zoneinfo and every comparison happens in UTC: comparing two
datetimes that share a ZoneInfo object ignores their offsets, which is wrong across a DST change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from risk_manager.rules.params import SessionBlockOutside, SessionWindow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 14
_DAY = timedelta(days=1)

Interval = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True, slots=True)
class SessionSchedule:
    """Allowed trading windows per symbol root, in one time zone, minus holidays."""

    tz: ZoneInfo
    windows: tuple[SessionWindow, ...]
    overrides: Mapping[str, tuple[SessionWindow, ...]]
    holidays: frozenset[date]

    @classmethod
    def from_params(cls, params: SessionBlockOutside) -> SessionSchedule:
        """The schedule described by the rule's parameters."""
        return cls(
            ZoneInfo(params.timezone),
            params.windows,
            dict(params.overrides),
            frozenset(params.holidays),
        )

    def _utc(self, day: date, wall: time) -> datetime:
        # A wall time skipped by a spring-forward jump resolves to the instant one hour later.
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)

    def intervals(self, root: str, instant: datetime, days: int = LOOKAHEAD_DAYS) -> list[Interval]:
        """Open intervals (UTC) of windows starting from the day before `instant` for `days`."""
        first = instant.astimezone(self.tz).date() - _DAY
        windows = self.overrides.get(root, self.windows)
        out: list[Interval] = []
        for offset in range(days + 2):
            day = first + offset * _DAY
            for window in windows:
                if WEEKDAYS[day.weekday()] not in window.days:
                    continue
                # An end before the start means the window runs past midnight into the next day.
                end_day = day + _DAY if window.end < window.start else day
                out += self._without_holidays(
                    day, self._utc(day, window.start), self._utc(end_day, window.end)
                )
        return sorted(out)

    def _without_holidays(self, day: date, start: datetime, end: datetime) -> list[Interval]:
        # A window spans at most two local dates; cut it at midnight and drop holiday halves.
        midnight = self._utc(day + _DAY, time(0))
        pieces = [(start, min(end, midnight), day)]
        if end > midnight:
            pieces.append((midnight, end, day + _DAY))
        return [(s, e) for s, e, local in pieces if local not in self.holidays and s < e]

    def is_open(self, root: str, instant: datetime) -> bool:
        """True when `instant` lies inside an allowed window for this root."""
        return any(start <= instant < end for start, end in self.intervals(root, instant, 1))

    def next_open(self, root: str, instant: datetime) -> datetime | None:
        """The first window start strictly after `instant`, within the lookahead; None if none."""
        starts = [start for start, _ in self.intervals(root, instant) if start > instant]
        return min(starts, default=None)
