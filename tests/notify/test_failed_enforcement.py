"""A failed enforcement becomes a critical notice; its completion after the retry follows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.brokers.simulated.config import SimulatedBrokerConfig
from risk_manager.bus import EventBus
from risk_manager.clock import WallClock
from risk_manager.domain.events import OrderType, OrderUpdate, Side
from risk_manager.enforcement import journal
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.planner import Step
from risk_manager.enforcement.steps import Timing
from risk_manager.notify.compose import Composer
from risk_manager.notify.notice import Notice
from risk_manager.rules.base import ActionKind, Violation
from risk_manager.state.store import Store


def test_enforcement_during_an_outage_is_critical_then_reported_done(tmp_path: Path) -> None:
    notices: list[Notice] = []
    composer = Composer({"A": "Alice"}, ZoneInfo("America/Chicago"), lambda: datetime.now(UTC))

    def collect(kind: str, data: dict[str, Any]) -> None:
        notice = composer.compose(kind, data)
        if notice is not None:
            notices.append(notice)

    async def scenario() -> None:
        clock, bus = WallClock(), EventBus()
        bus.subscribe(collect)
        broker = SimulatedBroker(SimulatedBrokerConfig(market="manual"), [("A", "A")],
                                 tmp_path / "sim.sqlite3", clock)  # fmt: skip
        store = Store(tmp_path / "daemon.sqlite3")
        timing = Timing(retry_delays=(0.01,), slow_retry_s=(0.2,))
        executor = Executor(broker, store, clock, bus, timing=timing)
        await broker.connect(
            lambda e: executor.observe(e.order) if isinstance(e, OrderUpdate) else None
        )
        broker.set_price("MNQ", Decimal("21000"))
        broker.submit_order("A", "MNQ", Side.BUY, 2, OrderType.MARKET)
        steps = [Step(ActionKind.FLATTEN)]
        violation = Violation("daily_realized_loss", "A", "loss past the limit", {"limit": "100"})
        with store.transaction():
            batch_id = journal.open_batch(store, "A", [violation], steps, clock.now())
        # What the engine publishes for a batch with broker work (held until the outcome).
        published = {
            "account_id": "A", "rule": "daily_realized_loss", "reason": "loss past the limit",
            "trigger": {"limit": "100"}, "critical": False, "batch_id": batch_id,
            "status": "pending",
        }  # fmt: skip
        collect("violation", published)
        broker.set_connected(False)
        executor.submit(Batch(batch_id, "A", steps))
        await executor.drain()
        broker.set_connected(True)
        for _ in range(200):
            if len(notices) >= 2:
                break
            await asyncio.sleep(0.02)
        await broker.close()
        store.close()

    asyncio.run(scenario())

    failed, done = notices[0], notices[-1]
    assert failed.severity == "critical"
    assert failed.title == "Enforcement FAILED, retrying: daily_realized_loss — A (Alice)"
    assert any(line.startswith("Attempt 1: ") for line in failed.lines)
    assert done.title == "Enforced daily_realized_loss — A (Alice)"
    assert done.severity == "warning"
