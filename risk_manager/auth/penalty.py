"""Progressive penalty for failed admin proofs: growing waits, never a lock.

A fixed lockout is a switch any local process can keep pressed. Here each failure only makes the
*next* challenges wait longer before they may be answered, up to a cap, so the admin always gets
in within `max_delay` seconds, and the count is forgotten after a quiet spell, a success, or an
OS administrator's `risk-admin auth-reset`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

# The longest a challenge ever waits: the admin always gets in within this; clients refuse more.
MAX_WAIT_SECONDS = 120


class ProgressivePenalty:
    """Consecutive failed proofs -> seconds a newly issued challenge must wait."""

    def __init__(
        self, *, free_failures: int, first_delay: float, max_delay: float, forget_after: float
    ) -> None:
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.failures = 0
        self._last_failure: float | None = None

    def delay(self, now: float) -> int:
        """Whole seconds a challenge issued now waits before it may be answered (0: none)."""
        self._forget_if_quiet(now)
        excess = self.failures - self.free_failures - 1
        if excess < 0:
            return 0
        # Doubling per failure; the exponent is clamped so a long attack cannot overflow.
        seconds = self.first_delay * 2 ** min(excess, 64)
        return math.ceil(min(seconds, self.max_delay))

    def record_failure(self, now: float) -> int | None:
        """Count one failed proof; the new delay when this failure made it grow, else None."""
        before = self.delay(now)
        self.failures += 1
        self._last_failure = now
        after = self.delay(now)
        return after if after > before else None

    def reset(self) -> None:
        """A correct proof, a quiet spell or an administrator's reset: start from zero."""
        self.failures = 0
        self._last_failure = None

    def _forget_if_quiet(self, now: float) -> None:
        if self._last_failure is not None and now - self._last_failure >= self.forget_after:
            self.reset()


class ResetMarker:
    """`secrets/auth-reset`: an OS administrator touches it to clear the penalty locally.

    Writing it needs write access to `secrets/` (locked to the service account and administrators),
    so it proves the caller administers the machine. The daemon compares the file's stat signature
    with the one it last saw; any change means "reset now". Nothing in it is secret.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._signature()

    def fired(self) -> bool:
        """Whether the marker changed since the last call (or since the daemon started)."""
        signature = self._signature()
        if signature == self._seen:
            return False
        self._seen = signature
        return signature is not None

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)


def request_reset(path: Path) -> None:
    """Write a new reset marker (a fresh inode, so the daemon sees a change even within a tick)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{time.time_ns()}\n", encoding="ascii")
    os.replace(tmp, path)
