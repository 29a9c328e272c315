"""The daemon's one source of time, injected everywhere (never `datetime.now` in the core).

- `WallClock`: real time in UTC.
- `ShiftableClock`: real time plus an offset the simulator's test controls move (sessions,
  resets and timers tested without waiting).
- `ReplayClock`: time that moves only when a replay of a recorded session advances it; its
  `sleep` returns when the replay reaches the wake-up time, so a replay never really sleeps.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What time it is, and waiting for time to pass (the rule tick)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(UTC)


class WallClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ShiftableClock(WallClock):
    """Wall time with an offset the simulator can move (to test sessions and resets)."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set_now(self, instant: datetime) -> None:
        """Make now() return `instant` from this moment on (time keeps running)."""
        self._offset = _aware(instant) - datetime.now(UTC)


class ReplayClock:
    """Time that only the replay moves forward (`advance_to`); sleepers wake as it passes."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties wake in the order they slept

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        wake = self._now + timedelta(seconds=seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (wake, next(self._order), future))
        await future

    def advance_to(self, instant: datetime) -> None:
        """Move time forward to `instant` (never back) and wake every sleeper it passes."""
        instant = _aware(instant)
        if instant < self._now:
            raise ValueError(f"a replay cannot go back in time ({instant} < {self._now})")
        self._now = instant
        while self._sleepers and self._sleepers[0][0] <= instant:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
