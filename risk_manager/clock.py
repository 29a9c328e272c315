"""The daemon's one source of time; the simulator may shift it to test sessions and resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall clock in UTC, with an offset the simulator can move (to test sessions and resets)."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC) + self._offset

    def set_now(self, instant: datetime) -> None:
        """Make now() return `instant` from this moment on (time keeps running)."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        self._offset = instant - datetime.now(UTC)
