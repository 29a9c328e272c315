"""A client-side sliding-window request budget that keeps headroom for enforcement.

The Gateway allows 200 requests per 60 s and answers 429 beyond. Routine traffic (reads,
polling, reconciling) may use the window only up to `limit - reserve`, and waits when it is
full; enforcement actions may use all of it and never wait on the budget: a breach must not
sleep while a poll loop spent the allowance.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateBudget:
    def __init__(
        self,
        limit: int = 200,
        window_seconds: float = 60.0,
        reserve: int = 40,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= reserve < limit:
            raise ValueError("reserve must be at least 0 and below the limit")
        self.limit = limit
        self.window = window_seconds
        self.reserve = reserve
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0

    def used(self) -> int:
        """Requests sent within the current window."""
        self._expire(self._clock())
        return len(self._sent)

    def wait_seconds(self, urgent: bool) -> float:
        """How long a request must wait before it fits; 0 when it may go now (urgent: always)."""
        now = self._clock()
        self._expire(now)
        if urgent:
            return 0.0
        wait = max(0.0, self._paused_until - now)
        over = len(self._sent) - (self.limit - self.reserve)
        if over >= 0:
            # The request fits once the `over + 1` oldest ones have left the window.
            wait = max(wait, self._sent[over] + self.window - now)
        return wait

    def record(self) -> None:
        self._sent.append(self._clock())

    def slow_down(self, seconds: float) -> None:
        """The server answered 429: routine traffic pauses; enforcement still goes."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, urgent: bool) -> None:
        """Wait (routine traffic only) until a request fits, then count it."""
        wait = self.wait_seconds(urgent)
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.wait_seconds(urgent)
        self.record()

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
