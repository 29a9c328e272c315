"""Bring the daemon's state in line with the broker after a (re)start."""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from risk_manager.brokers.base import Broker, BrokerPosition
from risk_manager.clock import Clock
from risk_manager.domain.events import AccountUpdate
from risk_manager.pipeline import Pipeline
from risk_manager.state.ledger import Position


async def reconcile(broker: Broker, pipeline: Pipeline, clock: Clock) -> dict[str, dict[str, int]]:
    """Apply the broker's fills of today we missed, then adopt its positions and orders.

    Fills go through the normal pipeline, so ones already applied are skipped by event id;
    any remaining difference (e.g. fills from an earlier day) is resolved in the broker's favour.
    """
    report: dict[str, dict[str, int]] = {}
    now = clock.now()
    day_start = pipeline.calendar.reset_at(pipeline.calendar.day_of(now) - timedelta(days=1))
    store = pipeline.store
    for account_id, account in pipeline.accounts.items():
        info = await broker.account_info(account_id)
        fills = sorted(await broker.fills_since(account_id, day_start), key=lambda f: f.ts)
        before = pipeline.applied
        for fill in fills:
            pipeline.handle(fill)
        missed = pipeline.applied - before
        broker_positions = {p.symbol: p for p in await broker.open_positions(account_id)}
        orders = await broker.open_orders(account_id)
        corrected = 0
        if (info.balance, info.can_trade) != (account.balance, account.can_trade):
            # Through the pipeline, so canTrade changes missed meanwhile start or end lockouts.
            pipeline.handle(
                AccountUpdate(f"reconcile:{account_id}:{now.isoformat()}", account_id, now,
                              info.balance, info.can_trade)
            )  # fmt: skip
        with store.transaction():
            account.connected = True
            for symbol in set(broker_positions) | set(account.positions):
                theirs = broker_positions.get(symbol)
                ours = account.positions.get(symbol)
                if _same(theirs, ours):
                    continue
                corrected += 1
                pipeline.adopt_position(account, symbol, theirs, now)
            account.orders = {order.order_id: order for order in orders}
            store.replace_orders(account_id, orders)
        if missed or corrected:
            logger.bind(account=account_id).warning(
                "Reconciled with broker: {} missed fill(s) applied, {} position(s) corrected",
                missed, corrected,
            )  # fmt: skip
        report[account_id] = {"missed_fills": missed, "corrected_positions": corrected}
        if pipeline.hooks:
            pipeline.hooks.on_reconciled(account)
    return report


def _same(theirs: BrokerPosition | None, ours: Position | None) -> bool:
    if theirs is None or ours is None:
        return False
    return theirs.size == ours.size and theirs.avg_price == ours.avg_price
