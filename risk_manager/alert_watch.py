"""Look for conditions no single event announces and publish them as alerts: a broker link
down longer than the threshold (and its return), quotes gone stale for held positions, and
losses reaching the warning levels of their limits. Runs once a second (`watch_loop`); loss
gauges are also read right after each fill.

It reads the whole running daemon (`Runtime`), so it sits above it, beside the assembly that
attaches it; `notify/` below holds only what the configuration and the notifier need."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from loguru import logger

from risk_manager.domain.money import ZERO
from risk_manager.health import stale_symbols
from risk_manager.notify.notifier import Notifier
from risk_manager.notify.text import usd
from risk_manager.rules.base import RuleContext
from risk_manager.runtime import Runtime
from risk_manager.state.ledger import AccountState
from risk_manager.state.notifications import LossWarningLog, NotificationOutbox

WATCH_SECONDS = 1.0


class AlertWatch:
    def __init__(self, runtime: Runtime, warnings: LossWarningLog) -> None:
        self.runtime = runtime
        self.warnings = warnings
        self._down_since: datetime | None = None
        self._down_reported = False
        self._stale: set[str] = set()

    def on_bus(self, kind: str, data: dict[str, Any]) -> None:
        """A fill moves realized PnL: check that account's loss gauges right after it (not
        inside the publisher, which is on the enforcement path)."""
        if kind == "fill":
            asyncio.get_running_loop().call_soon(self._fill_checked, data["account_id"])

    def _fill_checked(self, account_id: str) -> None:
        account = self.runtime.pipeline.accounts.get(account_id)
        if account is None:
            return
        try:
            self._losses(account, self.runtime.clock.now())
        except Exception:
            logger.opt(exception=True).error("Loss warning check failed")

    def check(self) -> None:
        """One pass over every condition and account."""
        now = self.runtime.clock.now()
        self._link(now)
        self._quotes(now)
        for account in self.runtime.pipeline.accounts.values():
            self._losses(account, now)

    def _link(self, now: datetime) -> None:
        bus, settings = self.runtime.bus, self.runtime.config.notifications
        if not self.runtime.pipeline.connected:
            self._down_since = self._down_since or now
            down = (now - self._down_since).total_seconds()
            if not self._down_reported and down >= settings.disconnect_alert_seconds:
                self._down_reported = True
                bus.alert("broker_disconnected", "critical",
                          f"Broker link down for {down:.0f} s; rules cannot act until it "
                          "returns", down_seconds=round(down))  # fmt: skip
            return
        if self._down_reported and self._down_since is not None:
            down = (now - self._down_since).total_seconds()
            bus.alert("broker_reconnected", "info",
                      f"Broker link back after {down:.0f} s", down_seconds=round(down))  # fmt: skip
        self._down_since, self._down_reported = None, False

    def _quotes(self, now: datetime) -> None:
        stale = set(stale_symbols(self.runtime, now))
        fresh_again = self._stale - stale
        newly = stale - self._stale
        self._stale = stale
        limit = self.runtime.config.daemon.stale_quote_seconds
        if newly:
            names = ", ".join(sorted(newly))
            message = (
                f"No quote for {limit:.0f} s on held {names}: unrealized limits are judged on "
                "old prices"
            )
            self.runtime.bus.alert("stale_quotes", "warning", message, symbols=sorted(newly))
        if fresh_again and not stale:
            self.runtime.bus.alert("quotes_fresh", "info", "Quotes are arriving again",
                                   symbols=sorted(fresh_again))  # fmt: skip

    def _losses(self, account: AccountState, now: datetime) -> None:
        runtime = self.runtime
        levels = runtime.config.notifications.warn_at_percent
        engine = runtime.engine
        account_id = account.account_id
        for rule in engine.rules_of(account_id):
            ctx = RuleContext(
                account, now, runtime.pipeline.calendar, runtime.pipeline.spec_of, [], [],
                engine.rule_state.get(account_id, rule.name) if rule.stateful else {},
            )  # fmt: skip
            for gauge in rule.loss_gauges(ctx):
                if gauge.breached or gauge.loss <= ZERO:
                    continue  # a breach is reported by its enforcement
                key, day = f"{rule.name}: {gauge.name}", account.day.trading_day
                new = [
                    level for level in levels
                    if gauge.percent >= level and self.warnings.record(account_id, day, key,
                                                                         level, now)
                ]  # fmt: skip
                if not new:
                    continue
                level = new[-1]  # one message for the highest level just reached
                runtime.bus.alert(
                    "loss_warning", "warning",
                    f"{gauge.name.capitalize()} {usd(-gauge.loss)} is {gauge.percent:.0f} % of "
                    f"the {usd(-gauge.limit)} limit ({rule.name})",
                    account_id=account_id, rule=rule.name, gauge=gauge.name, level_percent=level,
                    loss=str(gauge.loss), limit=str(gauge.limit),
                )  # fmt: skip


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
