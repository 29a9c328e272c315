"""Trading-day boundaries: a day ends at a local reset time (default 17:00 America/Chicago)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Maps instants to trading days; DST-safe because all local math goes through zoneinfo."""

    reset_time: time
    tz: ZoneInfo

    def day_of(self, instant: datetime) -> date:
        """The trading day an instant belongs to: after the reset it is already tomorrow's."""
        local = instant.astimezone(self.tz)
        if local.time() >= self.reset_time:
            return local.date() + timedelta(days=1)
        return local.date()

    def reset_at(self, day: date) -> datetime:
        """The instant (UTC) at which trading day `day` ends."""
        local = datetime.combine(day, self.reset_time, tzinfo=self.tz)
        # Round-trip through UTC normalises a wall time skipped by a DST jump.
        return local.astimezone(ZoneInfo("UTC"))

    def next_reset(self, instant: datetime) -> datetime:
        """The first reset strictly after `instant`."""
        return self.reset_at(self.day_of(instant))
