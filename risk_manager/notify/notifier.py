"""The notifier: subscribed to the bus, routes each notice to the channels that want it.

Its bus callback only composes text and queues it (plus one small SQLite insert for a
critical message), so publishing from the enforcement path costs microseconds; HTTP happens
in one task per channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from loguru import logger

from risk_manager.errors import Conflict, NotFound
from risk_manager.notify.channels import Channel
from risk_manager.notify.compose import Composer
from risk_manager.notify.delivery import ChannelWorker, Item
from risk_manager.notify.notice import Notice
from risk_manager.notify.settings import SEVERITY_RANK, NotificationsConfig
from risk_manager.state.notifications import NotificationOutbox

FLUSH_SECONDS = 3.0  # at shutdown: time given to queued messages before they are abandoned


class Notifier:
    """Channels, their workers, and the routing between them."""

    def __init__(
        self, settings: NotificationsConfig, secrets_dir: Path, outbox: NotificationOutbox,
        account_names: Mapping[str, str], zone: ZoneInfo, now: Callable[[], datetime],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.outbox = outbox
        self.now = now
        self.composer = Composer(account_names, zone, now)
        self.client = httpx.AsyncClient(timeout=settings.timeout_seconds, follow_redirects=False)
        self.workers: dict[str, ChannelWorker] = {}
        if settings.enabled:
            for name, config in settings.channels.items():
                if config.enabled:
                    channel = Channel(name, config, secrets_dir)
                    if channel.problem:
                        logger.error("Notification channel {}: {}", name, channel.problem)
                    self.workers[name] = ChannelWorker(channel, self.client, outbox, settings, now)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Reload undelivered critical messages, then start one task per channel. Messages
        queued for a channel that is no longer configured (or now disabled) are dropped:
        nobody can receive them, and /health would count them forever."""
        for name, count in self.outbox.drop_other_channels(set(self.workers)).items():
            logger.warning("Dropped {} undelivered critical notification(s) for channel {}, "
                           "which is no longer configured or enabled", count, name)  # fmt: skip
        window = timedelta(hours=self.settings.critical_retry_hours)
        now = self.now()
        for name, worker in self.workers.items():
            expired = []
            queued = {i for item in worker.held for i in item.outbox_ids}
            for row in self.outbox.pending(name):
                if row.id in queued:
                    continue  # published during start-up, already waiting
                if now - row.created_at >= window:
                    expired.append(row.id)
                    continue
                notice = Notice.from_json(row.notice)
                worker.offer(Item(notice, [row.id], row.created_at))
            if expired:
                self.outbox.remove(expired)
                logger.error("Dropped {} critical notification(s) for {} older than {} h",
                             len(expired), name, self.settings.critical_retry_hours)  # fmt: skip
            self._tasks.append(asyncio.create_task(worker.run(), name=f"notify-{name}"))

    def on_bus(self, kind: str, data: dict[str, Any]) -> None:
        """The bus subscriber: compose and queue; never raises into the publisher."""
        if not self.workers:
            return
        try:
            notice = self.composer.compose(kind, data)
            if notice is not None:
                self.route(notice)
        except Exception:
            # A wording bug must never reach the enforcement code that published.
            logger.opt(exception=True).error("Cannot compose a notification for {}", kind)

    def route(self, notice: Notice) -> None:
        """Queue `notice` on every channel whose severity filter and accounts match."""
        for worker in self.workers.values():
            config = worker.channel.config
            if notice.rank < SEVERITY_RANK[config.min_severity]:
                continue
            if config.accounts and notice.account_id not in config.accounts:
                continue
            item = Item(notice, created=notice.at)
            if notice.severity == "critical":
                try:
                    item.outbox_ids.append(
                        self.outbox.add(worker.name, notice.to_json(), notice.at)
                    )
                except sqlite3.Error as error:
                    # The disk may be full: still send it, only without the restart guarantee.
                    logger.error("Cannot queue a critical notification durably: {}", error)
            worker.offer(item)

    def status(self) -> dict[str, Any]:
        """Per-channel delivery state for /health and `risk-admin doctor`; `durable_queued`
        counts the channel's critical messages still in the outbox."""
        depth = self.outbox.depth()
        return {
            name: {**worker.status(), "durable_queued": depth.get(name, 0)}
            for name, worker in self.workers.items()
        }

    async def test(self, channel: str | None) -> dict[str, Any]:
        """Send a test message now (bypassing queues) to one or every channel."""
        if not self.workers:
            raise Conflict("no_channels", "no notification channel is configured")
        if channel is not None and channel not in self.workers:
            known = ", ".join(sorted(self.workers))
            raise NotFound(
                "channel_not_found", f"no enabled channel {channel!r} (channels: {known})"
            )
        names = [channel] if channel is not None else list(self.workers)
        notice = Notice(
            "test", "info", "Test message from the Risk Manager",
            ("If you can read this, notifications reach this channel.",), None, self.now(),
        )  # fmt: skip
        results = {}
        for name in names:
            attempt = await self.workers[name].channel.send(self.client, notice)
            results[name] = attempt.to_json()
        return results

    async def close(self) -> None:
        """Give queued messages a moment, then stop (critical ones stay in the outbox)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_SECONDS):
                await asyncio.gather(*(worker.wait_idle() for worker in self.workers.values()))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
