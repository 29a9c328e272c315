"""One worker per channel: in order, retried with backoff and jitter, paced by a rate limit.

Messages that arrive faster than the channel's rate limit wait; when the next send slot
opens, everything waiting goes out as one summary. Critical messages have outbox rows and
are retried until their retry window ends; a summary holding any of them is as durable.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from loguru import logger

from risk_manager.notify.channels import Attempt, Channel
from risk_manager.notify.notice import Notice, summary_notice
from risk_manager.notify.settings import NotificationsConfig
from risk_manager.state.notifications import NotificationOutbox

MAX_HELD = 500  # beyond this, the oldest non-critical messages are dropped (and counted)
RETRY_AFTER_CAP = 3600.0


@dataclass(slots=True)
class Item:
    notice: Notice
    outbox_ids: list[int] = field(default_factory=list)  # non-empty: durable (critical)
    created: datetime | None = None


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: a random delay in [½, 1] of min(cap, base·2ⁿ⁻¹)."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


class ChannelWorker:
    """Owns one channel's queue and delivery task."""

    def __init__(
        self, channel: Channel, client: httpx.AsyncClient, outbox: NotificationOutbox,
        settings: NotificationsConfig, now: Callable[[], datetime],
    ) -> None:  # fmt: skip
        self.channel = channel
        self.client = client
        self.outbox = outbox
        self.settings = settings
        self.now = now
        self.held: deque[Item] = deque()
        self.dropped = 0
        self.sent = 0
        self.summaries = 0
        self.failures = 0
        self.last_success: datetime | None = None
        self.last_error: str | None = None
        self._sent_at: deque[float] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = False

    @property
    def name(self) -> str:
        return self.channel.name

    def offer(self, item: Item) -> None:
        """Queue a message; returns at once."""
        self.held.append(item)
        self._idle.clear()
        if len(self.held) > MAX_HELD:
            victim = next((x for x in self.held if not x.outbox_ids), None)
            if victim is not None:
                self.held.remove(victim)
                self.dropped += 1
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until nothing is queued or being sent."""
        await self._idle.wait()

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.channel.config.kind,
            "ok": self.channel.problem is None and self.last_error is None,
            "queued": len(self.held) + (1 if self._busy else 0),
            "sent": self.sent,
            "summaries": self.summaries,
            "failures": self.failures,
            "dropped": self.dropped,
            "last_success": None if self.last_success is None else self.last_success.isoformat(),
            "last_error": self.channel.problem or self.last_error,
        }

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.held:
                waited = await self._wait_for_slot()
                if waited and len(self.held) > 1:
                    items, self.held = list(self.held), deque()
                    notice = summary_notice([x.notice for x in items], self.dropped, self.now())
                    self.dropped = 0
                    self.summaries += 1
                    ids = [i for x in items for i in x.outbox_ids]
                    created = min((x.created for x in items if x.created), default=None)
                    item = Item(notice, ids, created)
                else:
                    item = self.held.popleft()
                self._busy = True
                try:
                    await self._deliver(item)
                except Exception:
                    # e.g. the outbox cannot be written (disk full): this message is lost, the
                    # channel must live on for the next one.
                    self.failures += 1
                    logger.opt(exception=True).error("Notification to {} failed", self.name)
                finally:
                    self._busy = False
            self._idle.set()

    async def _wait_for_slot(self) -> bool:
        """Sleep until the rate limit allows a send; True when it had to wait."""
        limit = self.channel.config.rate_limit
        window = self.channel.config.rate_window_seconds
        now = time.monotonic()
        while self._sent_at and now - self._sent_at[0] >= window:
            self._sent_at.popleft()
        if len(self._sent_at) < limit:
            return False
        await asyncio.sleep(self._sent_at[0] + window - now)
        self._sent_at.popleft()
        return True

    async def _deliver(self, item: Item) -> None:
        log = logger.bind(account=item.notice.account_id or "-")
        attempt_no = 0
        while True:
            attempt_no += 1
            self._sent_at.append(time.monotonic())
            result = await self.channel.send(self.client, item.notice)
            if result.ok:
                self.sent += 1
                self.last_success, self.last_error = self.now(), None
                if item.outbox_ids:
                    self.outbox.remove(item.outbox_ids)
                return
            self.last_error = _describe(result)
            delay = self._next_delay(item, attempt_no, result)
            if item.outbox_ids:
                self.outbox.failed_attempt(item.outbox_ids, self.last_error)
            if delay is None:
                self.failures += 1
                if item.outbox_ids:
                    self.outbox.remove(item.outbox_ids)
                log.error("Notification to {} given up after {} attempt(s): {}",
                          self.name, attempt_no, self.last_error)  # fmt: skip
                return
            log.warning("Notification to {} failed ({}); retry {} in {:.1f} s",
                        self.name, self.last_error, attempt_no, delay)  # fmt: skip
            await asyncio.sleep(delay)

    def _next_delay(self, item: Item, attempt_no: int, result: Attempt) -> float | None:
        """Seconds until the next attempt, or None to give up."""
        settings = self.settings
        if item.outbox_ids:
            created = item.created or item.notice.at
            window = timedelta(hours=settings.critical_retry_hours)
            if self.now() - created >= window:
                return None
        elif attempt_no >= settings.attempts or not result.retryable:
            return None
        if result.retry_after is not None:
            # The receiver knows its limits better than our backoff; only absurd waits are cut.
            return min(result.retry_after, RETRY_AFTER_CAP)
        return backoff(attempt_no, settings.retry_base_seconds, settings.retry_max_seconds)


def _describe(result: Attempt) -> str:
    status = f"HTTP {result.status}" if result.status is not None else "no response"
    return f"{status}: {result.error}" if result.error else status
