"""Consecutive-failure counter that locks admin auth for a while."""

from __future__ import annotations

import math


class FailureLock:
    """Counts consecutive failures; `threshold` of them lock for `lock_seconds`."""

    def __init__(self, *, threshold: int, lock_seconds: float) -> None:
        self.threshold = threshold
        self.lock_seconds = lock_seconds
        self.failures = 0
        self._locked_until: float | None = None

    def seconds_remaining(self, now: float) -> int:
        """Whole seconds until the lock ends (rounded up); 0 when not locked."""
        self._expire(now)
        if self._locked_until is None:
            return 0
        return max(1, math.ceil(self._locked_until - now))

    def is_locked(self, now: float) -> bool:
        """Whether every attempt must be refused right now."""
        return self.seconds_remaining(now) > 0

    def record_failure(self, now: float) -> bool:
        """Count one failure; True when this failure starts a lock."""
        self._expire(now)
        self.failures += 1
        if self.failures >= self.threshold and self._locked_until is None:
            self._locked_until = now + self.lock_seconds
            return True
        return False

    def record_success(self) -> None:
        """A correct proof ends the run of failures."""
        self.failures = 0

    def _expire(self, now: float) -> None:
        # When a lock runs out the count starts afresh; otherwise one more miss would relock.
        if self._locked_until is not None and now >= self._locked_until:
            self._locked_until = None
            self.failures = 0
