"""The running daemon's parts, handed to the API and the housekeeping tasks."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from risk_manager.auth import AdminAuth
from risk_manager.brokers.base import Broker
from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.config.models import Config
from risk_manager.domain.events import Event
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.executor import Executor
from risk_manager.notify.notifier import Notifier
from risk_manager.paths import HomePaths
from risk_manager.pipeline import Pipeline
from risk_manager.state.backup import Restored
from risk_manager.state.store import Store
from risk_manager.storage_guard import StorageGuard


class Intake:
    """The queue between the broker and the pipeline; `join()` waits until it has drained."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.open = True

    def put(self, event: Event) -> None:
        """The broker's sink; drops events once intake has been closed for shutdown."""
        if self.open:
            self.queue.put_nowait(event)

    async def join(self) -> None:
        await self.queue.join()

    def discard(self) -> None:
        """Close intake and drop the events it holds (for a stop before anything consumed it)."""
        self.open = False
        while not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()


@dataclass
class Runtime:
    config: Config
    config_path: Path
    paths: HomePaths
    clock: Clock
    store: Store
    pipeline: Pipeline
    broker: Broker
    bus: EventBus
    intake: Intake
    engine: RiskEngine
    executor: Executor
    previous_run_crashed: bool
    auth: AdminAuth | None = None  # admin routes answer 503 without it
    notifier: Notifier | None = None
    storage: StorageGuard | None = None  # what to do while the disk refuses writes
    state_restored: Restored | None = None  # start-up replaced an unusable database
    broker_problem: str | None = None  # why the last connect to the broker failed (retrying)
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    started_monotonic: float = field(default_factory=time.monotonic)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    def critical(self, kind: str, message: str) -> None:
        """A critical log line and the same as an alert on the bus (the notifier sends it)."""
        logger.critical(message)
        self.bus.alert(kind, "critical", message)

    def is_locked(self, account_id: str) -> bool:
        """Whether the account holds any active lockout."""
        return bool(self.engine.lockouts.active(account_id))

    def enforcement_failures(self) -> int:
        """Enforcement batches that failed for good since start (escalated)."""
        return self.executor.failures

    async def settle(self) -> None:
        """Wait until queued events and the enforcement they caused have been carried out."""
        await self.intake.join()
        await self.executor.drain()
        await self.intake.join()
