"""Attach notifications to a running daemon: notifier on the bus, the alert watch's loop."""

from __future__ import annotations

import asyncio

from loguru import logger

from risk_manager.notify.notifier import Notifier
from risk_manager.notify.watch import AlertWatch
from risk_manager.runtime import Runtime
from risk_manager.state.notifications import LossWarningLog, NotificationOutbox

WATCH_SECONDS = 1.0


def attach_notifier(runtime: Runtime) -> AlertWatch:
    """Subscribe a notifier and the alert watch to the bus (before anything is published
    that they should see); returns the watch for `watch_loop`."""
    pipeline = runtime.pipeline
    notifier = Notifier(
        runtime.config.notifications, runtime.paths.secrets_dir,
        NotificationOutbox(runtime.store),
        {account_id: account.name for account_id, account in pipeline.accounts.items()},
        pipeline.calendar.tz, runtime.clock.now,
    )  # fmt: skip
    runtime.bus.subscribe(notifier.on_bus)
    runtime.notifier = notifier
    today = pipeline.calendar.day_of(runtime.clock.now())
    watch = AlertWatch(runtime, LossWarningLog(runtime.store, today))
    runtime.bus.subscribe(watch.on_bus)
    return watch


async def watch_loop(watch: AlertWatch) -> None:
    """Run the alert watch every second; a failing check is logged, never fatal."""
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        try:
            watch.check()
        except Exception:
            logger.opt(exception=True).error("Alert watch check failed")
