"""Bring the daemon's state in line with the broker after a (re)start or a reconnect.

This module only asks the broker; the pipeline alone changes state (`Pipeline.apply_snapshot`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from loguru import logger

from risk_manager.brokers.base import Broker, BrokerSnapshot, UnknownAccount
from risk_manager.clock import Clock
from risk_manager.pipeline import Pipeline

SNAPSHOT_ROUNDS = 3  # reads of a broker that keeps trading meanwhile, before taking the last


async def fetch_snapshot(broker: Broker, account_id: str, since: datetime) -> BrokerSnapshot:
    """The account as the broker reports it: info, fills since `since`, positions, orders.

    The fills are read again after the positions: a fill that landed between the two reads
    would be in the positions but not in the fills, and when its live event arrived later it
    would be counted a second time on top of the adopted position. So the reads repeat until
    no fill appeared in between (bounded; a broker trading nonstop gets the last reading).
    """
    info = await broker.account_info(account_id)
    fills = await broker.fills_since(account_id, since)
    for _ in range(SNAPSHOT_ROUNDS):
        positions = await broker.open_positions(account_id)
        orders = await broker.open_orders(account_id)
        again = await broker.fills_since(account_id, since)
        settled = {f.event_id for f in again} == {f.event_id for f in fills}
        fills = again
        if settled:
            break
    return BrokerSnapshot(info, sorted(fills, key=lambda fill: fill.ts), positions, orders)


async def reconcile(broker: Broker, pipeline: Pipeline, clock: Clock) -> dict[str, dict[str, int]]:
    """Snapshot every account at the broker and let the pipeline apply it; per-account counts."""
    report: dict[str, dict[str, int]] = {}
    now = clock.now()
    day_start = pipeline.calendar.reset_at(pipeline.calendar.day_of(now) - timedelta(days=1))
    for account_id, account in list(pipeline.accounts.items()):
        try:
            snapshot = await fetch_snapshot(broker, account_id, day_start)
        except UnknownAccount as error:
            # One account the broker does not know must not leave every other one unprotected
            # (the start used to fail on it, and the restarts after it, for all of them).
            message = (
                f"Account {account_id} cannot be reconciled ({error}): nothing is enforced on it"
            )
            logger.bind(account=account_id).critical(message)
            pipeline.bus.alert("account_unknown", "critical", message, account_id=account_id)
            continue
        report[account_id] = pipeline.apply_snapshot(account, snapshot, now)
    return report
