"""What the daemon does while its disk refuses writes (full, read-only), and when it is back.

The store queues writes in memory (state/durable.py); this guard turns that into enforcement
and alerts: every account goes REDUCING through the gate (no new exposure; the broker calls
that flatten need no disk), a critical alert goes out, the queue is retried on the loop, and
when it is stored the condition lifts and an info alert says so. The queue is bounded: past
`QUEUE_LIMIT` statements every account is HALTED and flattened, which stops the writes
trading causes, so memory stops growing while nothing is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loguru import logger

from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.pipeline import Pipeline
from risk_manager.rules.base import TradingState
from risk_manager.state.durable import REPLAY_BUDGET, looks_writable
from risk_manager.state.store import Store

CONDITION = "storage_unavailable"
QUEUE_LIMIT = 200_000  # queued statements (~100 MB of memory)
RETRY_MIN_SECONDS = 1.0
RETRY_MAX_SECONDS = 8.0  # a replay is work on the loop: fewer tries while it keeps failing


class StorageGuard:
    """Reacts to the store's storage failures; `tick()` once a second retries the queue."""

    def __init__(
        self, store: Store, engine: RiskEngine, pipeline: Pipeline, bus: EventBus, clock: Clock
    ) -> None:
        self.store, self.engine, self.pipeline = store, engine, pipeline
        self.bus, self.clock = bus, clock
        self.since: datetime | None = None
        self.retries = 0
        self.halted = False
        self._wait = RETRY_MIN_SECONDS
        self._waited = 0.0
        store.writer.on_change = self._changed

    def check_start(self) -> None:
        """Call once the notifier listens: a disk that refused writes at start counts too."""
        if (failure := self.store.degraded) is not None:
            logger.critical("Started on a disk that takes no writes: {}", failure)
            self._changed(failure)

    def _changed(self, failure: str | None) -> None:
        gate = self.engine.gate
        now = self.clock.now()
        if failure is not None:
            self.since, self.retries, self.halted = now, 0, False
            self._wait, self._waited = RETRY_MIN_SECONDS, 0.0
            reason = f"storage unavailable: {failure}"
            gate.set_condition(CONDITION, TradingState.REDUCING, reason, now)
            self.bus.alert(
                CONDITION, "critical",
                f"The daemon cannot write its database ({failure}): every account is REDUCING "
                "(no new exposure), writes are kept in memory and retried",
            )  # fmt: skip
            return
        down = 0.0 if self.since is None else (now - self.since).total_seconds()
        self.since = None
        gate.clear_condition(CONDITION)
        message = f"Storage writable again after {down:.0f} s: queued writes stored, trading on"
        logger.warning(message)
        self.bus.alert("storage_recovered", "info", message)

    def tick(self, elapsed: float) -> None:
        """Retry the queued writes when due and the disk looks able to take them.

        Only a replay that failed backs the next one off: while the disk still looks full or
        read-only nothing is tried, and a retry follows within a second of space returning.
        """
        if self.store.degraded is None:
            return
        if not self.halted and self.store.writer.pending_statements >= QUEUE_LIMIT:
            self._halt()
        self._waited += elapsed
        if self._waited < self._wait or not looks_writable(self.store.path):
            return
        self._waited = 0.0
        before = self.store.writer.pending_statements
        if self.store.retry_writes(REPLAY_BUDGET):
            return
        if self.store.writer.pending_statements < before:  # stored a part: go on next tick
            self._wait = RETRY_MIN_SECONDS
            return
        self.retries += 1
        self._wait = min(self._wait * 2, RETRY_MAX_SECONDS)

    def _halt(self) -> None:
        self.halted = True
        now = self.clock.now()
        reason = f"storage unavailable and {QUEUE_LIMIT} writes queued in memory"
        self.engine.gate.set_condition(CONDITION, TradingState.HALTED, reason, now)
        logger.critical("{}: every account is HALTED and flattened", reason)
        self.bus.alert(CONDITION, "critical", f"{reason}: every account is HALTED and flattened")
        for account in self.pipeline.accounts.values():
            # The gate's standing-exposure check closes what a HALTED state forbids.
            self.engine.on_reconciled(account)

    def status(self) -> dict[str, Any] | None:
        """For /health: why, since when, what is queued (None while the disk takes writes)."""
        failure = self.store.degraded
        if failure is None:
            return None
        return {
            "problem": failure,
            "since": None if self.since is None else self.since.isoformat(),
            "queued_writes": self.store.writer.pending_statements,
            "retries": self.retries,  # replays tried that failed
            "trading_state": "halted" if self.halted else "reducing",
        }
