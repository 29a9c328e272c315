"""The risk engine between pipeline and executor: a breach becomes a lockout and a batch in the
event's own transaction, the batch is carried out after the commit, and is planned once."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from risk_manager.bus import EventBus
from risk_manager.clock import WallClock
from risk_manager.config import parse_config
from risk_manager.domain.events import Event, Fill, OrderUpdate, Side
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.executor import Executor
from risk_manager.pipeline import Pipeline
from risk_manager.state.journal import records
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store
from tests.brokers.double import SlowBroker


class Wired:
    """Store, pipeline, engine and executor wired as the daemon does, on the broker double."""

    def __init__(self, tmp_path: Path, profile: dict[str, Any]) -> None:
        config = parse_config({"accounts": {"A": {"profile": "p"}}, "profiles": {"p": profile}})
        self.clock = WallClock()
        self.store = Store(tmp_path / "daemon.sqlite3")
        self.broker = SlowBroker(["A"])
        calendar = config.trading_day.calendar()
        bus = EventBus()
        self.pipeline = Pipeline(self.store, calendar, self.broker.contract_spec, bus)
        self.executor = Executor(self.broker, self.store, self.clock, bus,
                                 ledger=self.pipeline.signed_positions)  # fmt: skip
        self.engine = RiskEngine(self.store, self.executor, calendar, self.broker.contract_spec,
                                 self.clock, bus)  # fmt: skip
        self.engine.configure(config)
        self.pipeline.hooks = self.engine
        today = calendar.day_of(self.clock.now())
        self.pipeline.add_account(AccountState("A", "A", Decimal(50000), True, DayTotals(today)))

    async def connect(self) -> None:
        def deliver(event: Event) -> None:
            if isinstance(event, OrderUpdate):
                self.executor.observe(event.order)
            self.pipeline.handle(event)

        await self.broker.connect(deliver)

    def records(self) -> list[dict[str, Any]]:
        with closing(sqlite3.connect(self.store.path)) as db:
            return records(db, "A", 100, None)


def test_a_size_breach_records_a_batch_and_reduces_after_the_commit(tmp_path: Path) -> None:
    async def scenario() -> None:
        wired = Wired(tmp_path, {"max_contracts": {"limit": 2}})
        await wired.connect()

        wired.broker.trade("A", "MNQ", 5)
        [pending] = wired.records()
        assert pending["status"] == "pending"  # committed with the fill, nothing sent yet
        assert pending["steps"] == [{"kind": "reduce", "symbol": "MNQ", "target": 2}]
        await wired.executor.drain()

        [done] = wired.records()
        assert done["status"] == "done"
        assert wired.broker.size("A", "MNQ") == 2
        assert wired.pipeline.accounts["A"].positions["MNQ"].size == 2
        assert wired.engine.lockouts.active("A") == []

    asyncio.run(scenario())


def test_a_loss_breach_locks_out_flattens_once_and_gates_the_next_entry(tmp_path: Path) -> None:
    async def scenario() -> None:
        wired = Wired(tmp_path, {"daily_realized_loss": {"limit": 50}})
        await wired.connect()
        wired.broker.trade("A", "ES", 1)
        wired.broker.prices["ES"] = Decimal("5990")  # a 10-point loss: $500 on ES

        wired.broker.trade("A", "ES", -1)
        wired.broker.trade("A", "MNQ", 1)  # an entry under the lockout, before any enforcement
        await wired.executor.drain()

        [lockout] = wired.engine.lockouts.active("A")
        assert lockout.rule == "daily_realized_loss"
        flattens = [r for r in wired.records() if r["steps"] == [{"kind": "flatten"}]]
        assert len(flattens) == 1  # the gated entry did not plan a second flatten beside it
        assert wired.broker.size("A", "MNQ") == 0
        fills = wired.pipeline.accounts["A"].day.fills
        assert fills == 4  # opening, losing close, gated entry, its close by the flatten
        assert lockout.started_at <= datetime.now(UTC)

    asyncio.run(scenario())


def test_the_breach_is_stamped_with_the_events_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        wired = Wired(tmp_path, {"max_contracts": {"limit": 1}})
        await wired.connect()
        late = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
        wired.pipeline.handle(Fill("fill:late", "A", late, "MNQ", Side.BUY, 3, Decimal(21000),
                                   Decimal(0), "t1"))  # fmt: skip

        [record] = wired.records()
        assert record["created_at"] == late.isoformat()

    asyncio.run(scenario())


def test_a_late_fill_from_an_ended_week_leaves_the_running_weeks_loss_alone(
    tmp_path: Path,
) -> None:
    """Rules see the fill's own time as `now`: a fill of last week arriving now must not
    restart this week's count (it did: -800 this week, then last week's -400 reset it)."""

    async def scenario() -> None:
        wired = Wired(tmp_path, {"weekly_realized_loss": {"limit": 1000}})
        now = wired.clock.now()
        last_week = now - timedelta(days=7)

        def trade(n: int, at: datetime, side: Side, price: int) -> None:
            wired.pipeline.handle(Fill(f"fill:{n}", "A", at, "MNQ", side, 1, Decimal(price),
                                       Decimal(0), f"o{n}"))  # fmt: skip

        trade(1, now, Side.BUY, 21000)
        trade(2, now, Side.SELL, 20600)  # -800 this week
        trade(3, last_week, Side.BUY, 21000)
        trade(4, last_week, Side.SELL, 20800)  # -400 last week: counts in no week
        assert wired.engine.lockouts.active("A") == []
        trade(5, now, Side.BUY, 21000)
        trade(6, now, Side.SELL, 20800)  # -400 more this week: -1,200 breaches

        [lockout] = wired.engine.lockouts.active("A")
        assert lockout.rule == "weekly_realized_loss"
        assert "-$1,200.00" in lockout.reason
        await wired.executor.drain()

    asyncio.run(scenario())
