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
from typing import Any, Protocol


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
    """Time that only the replay moves forward (`advance_to`); sleepers wake as it passes.

    The replay paces itself on the tasks it wakes: `next_wake` says when the next sleeper is
    due, and `settled` waits until every task the last advance woke is asleep again (or has
    ended), so a rule tick runs at each recorded second it would have run at.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None], asyncio.Task[Any]]] = []
        self._order = itertools.count()  # ties wake in the order they slept
        self._awake: set[asyncio.Task[Any]] = set()  # woken by an advance, not asleep again
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        wake = self._now + timedelta(seconds=seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        task = asyncio.current_task()
        assert task is not None  # a coroutine awaited on a running loop runs in a task
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (wake, next(self._order), future, task))
        self._settle(task)
        await future

    def next_wake(self) -> datetime | None:
        """When the earliest sleeper is due, or None when nobody sleeps on this clock."""
        while self._sleepers and self._sleepers[0][2].done():  # cancelled while asleep
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to(self, instant: datetime) -> None:
        """Move time forward to `instant` (never back) and wake every sleeper it passes."""
        instant = _aware(instant)
        if instant < self._now:
            raise ValueError(f"a replay cannot go back in time ({instant} < {self._now})")
        self._now = instant
        while self._sleepers and self._sleepers[0][0] <= instant:
            _, _, future, task = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                if task not in self._awake:
                    self._awake.add(task)
                    task.add_done_callback(self._settle)

    async def settled(self) -> None:
        """Return once every task the advances woke sleeps on this clock again or has ended."""
        while self._awake:
            self._changed.clear()
            await self._changed.wait()

    def _settle(self, task: asyncio.Task[Any]) -> None:
        if task in self._awake:
            self._awake.discard(task)
            task.remove_done_callback(self._settle)
            self._changed.set()
