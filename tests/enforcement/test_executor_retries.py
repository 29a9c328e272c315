"""The executor against the real simulated broker: verification, retries, persistence."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.brokers.simulated.config import SimulatedBrokerConfig
from risk_manager.clock import WallClock
from risk_manager.domain.events import OrderType, OrderUpdate, Side
from risk_manager.enforcement import journal
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.planner import Step
from risk_manager.enforcement.steps import Timing
from risk_manager.rules.base import ActionKind, Violation
from risk_manager.state.journal import records
from risk_manager.state.store import Store


async def _setup(
    tmp_path: Path, timing: Timing | None = None
) -> tuple[SimulatedBroker, Store, Executor]:
    clock = WallClock()
    broker = SimulatedBroker(
        SimulatedBrokerConfig(market="manual"), [("A", "A")], tmp_path / "sim.sqlite3", clock
    )
    store = Store(tmp_path / "daemon.sqlite3")
    executor = Executor(broker, store, clock, timing=timing)
    await broker.connect(
        lambda e: executor.observe(e.order) if isinstance(e, OrderUpdate) else None
    )
    broker.set_price("MNQ", Decimal("21000"))
    broker.submit_order("A", "MNQ", Side.BUY, 2, OrderType.MARKET)
    broker.submit_order("A", "MNQ", Side.SELL, 1, OrderType.LIMIT, limit_price=Decimal("21100"))
    return broker, store, executor


def _batch(store: Store, steps: list[Step]) -> Batch:
    violation = Violation("test", "A", "test breach", {"x": 1})
    with store.transaction():
        batch_id = journal.open_batch(store, "A", [violation], steps, WallClock().now())
    return Batch(batch_id, "A", steps)


def _record(store: Store, batch_id: int) -> dict:
    with closing(sqlite3.connect(store.path)) as db:
        return next(r for r in records(db, "A", 10, None) if r["id"] == batch_id)


def test_flatten_closes_positions_and_cancels_orders_then_records_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        broker, store, executor = await _setup(tmp_path)
        batch = _batch(store, [Step(ActionKind.FLATTEN)])
        executor.submit(batch)
        await executor.drain()

        assert await broker.open_positions("A") == []
        assert await broker.open_orders("A") == []
        record = _record(store, batch.batch_id)
        assert record["status"] == "done"
        assert record["first_action_ms"] is not None
        assert len(record["responses"]) == 2  # one cancel, one close
        await broker.close()

    asyncio.run(scenario())


def test_flatten_during_an_outage_keeps_retrying_until_the_broker_is_back(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        timing = Timing(retry_delays=(0.01,), slow_retry_s=(0.2,))
        broker, store, executor = await _setup(tmp_path, timing)
        broker.set_connected(False)
        batch = _batch(store, [Step(ActionKind.FLATTEN)])
        executor.submit(batch)
        await executor.drain()
        owed = _record(store, batch.batch_id)
        assert owed["status"] == "pending"  # still owed: a restart would resume it
        assert owed["outcome"].startswith("retrying")
        assert executor.failures == 1

        broker.set_connected(True)
        for _ in range(100):
            if _record(store, batch.batch_id)["status"] == "done":
                break
            await asyncio.sleep(0.02)

        assert _record(store, batch.batch_id)["status"] == "done"
        assert await broker.open_positions("A") == []
        await broker.close()

    asyncio.run(scenario())


def test_reduce_is_idempotent_when_run_twice(tmp_path: Path) -> None:
    async def scenario() -> None:
        broker, store, executor = await _setup(tmp_path)
        step = Step(ActionKind.REDUCE, "MNQ", target=1)
        for _ in range(2):  # e.g. resumed after a crash that came after the first run
            executor.submit(_batch(store, [step]))
            await executor.drain()

        sizes = [p.size for p in await broker.open_positions("A")]
        assert sizes == [1]
        await broker.close()

    asyncio.run(scenario())


def test_step_json_round_trip() -> None:
    step = Step(ActionKind.PLACE_STOP, "MNQ", price=Decimal("20990.25"), side=-1, quantity=2)
    assert Step.from_json(json.loads(json.dumps(step.to_json()))) == step
