"""Reconcile: the broker's snapshot, applied by the pipeline alone, once."""

from __future__ import annotations

import asyncio
from datetime import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from risk_manager.bus import EventBus
from risk_manager.clock import Clock, WallClock
from risk_manager.domain.events import Side
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.pipeline import Pipeline
from risk_manager.reconcile import fetch_snapshot, reconcile
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store
from tests.brokers.double import SlowBroker


def _pipeline(tmp_path: Path, broker: SlowBroker, clock: Clock) -> Pipeline:
    calendar = TradingCalendar(time(17, 0), ZoneInfo("America/Chicago"))
    pipeline = Pipeline(Store(tmp_path / "daemon.sqlite3"), calendar, broker.contract_spec,
                        EventBus())  # fmt: skip
    today = calendar.day_of(clock.now())
    pipeline.add_account(AccountState("A", "A", Decimal(50000), True, DayTotals(today)))
    return pipeline


def test_missed_fills_are_applied_once_and_the_brokers_orders_adopted(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = WallClock()
        broker = SlowBroker(["A"])
        pipeline = _pipeline(tmp_path, broker, clock)
        broker.trade("A", "MNQ", 2)  # while the daemon was not listening
        broker.trade("A", "MNQ", 1)
        working = broker.rest_order("A", "MNQ", Side.SELL, 1)

        first = await reconcile(broker, pipeline, clock)
        second = await reconcile(broker, pipeline, clock)

        account = pipeline.accounts["A"]
        assert first == {"A": {"missed_fills": 2, "corrected_positions": 0}}
        assert second == {"A": {"missed_fills": 0, "corrected_positions": 0}}
        assert account.positions["MNQ"].size == 3
        assert list(account.orders) == [working.order_id]
        assert account.day.fills == 2
        assert account.connected

    asyncio.run(scenario())


def test_a_position_without_fills_today_is_adopted_in_the_brokers_favour(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = WallClock()
        broker = SlowBroker(["A"])
        pipeline = _pipeline(tmp_path, broker, clock)
        broker.trade("A", "ES", -2)
        broker.fills.clear()  # e.g. opened on an earlier trading day

        report = await reconcile(broker, pipeline, clock)

        assert report == {"A": {"missed_fills": 0, "corrected_positions": 1}}
        assert pipeline.accounts["A"].positions["ES"].size == -2
        broker.trade("A", "ES", 2)
        broker.fills.clear()
        assert await reconcile(broker, pipeline, clock) == {
            "A": {"missed_fills": 0, "corrected_positions": 1}
        }
        assert pipeline.accounts["A"].positions == {}

    asyncio.run(scenario())


def test_fetching_a_snapshot_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = WallClock()
        broker = SlowBroker(["A"])
        pipeline = _pipeline(tmp_path, broker, clock)
        broker.trade("A", "MNQ", 1)

        snapshot = await fetch_snapshot(broker, "A", clock.now().replace(hour=0))

        assert [p.size for p in snapshot.positions] == [1]
        assert pipeline.accounts["A"].positions == {}
        assert pipeline.applied == 0

    asyncio.run(scenario())


def test_the_streamed_positions_count_only_once_reconciled(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = WallClock()
        broker = SlowBroker(["A"])
        pipeline = _pipeline(tmp_path, broker, clock)
        broker.trade("A", "MNQ", 2)
        pipeline.handle(broker.fills[0])  # a fill on the books before the start-up reconcile
        assert pipeline.accounts["A"].positions["MNQ"].size == 2
        assert pipeline.signed_positions("A") == {}  # not reconciled yet: books may be behind

        await reconcile(broker, pipeline, clock)

        assert pipeline.signed_positions("A") == {"MNQ": 2}

    asyncio.run(scenario())
