"""The storage guard on a real full disk: REDUCING at the first refused write (the fill whose
commit failed is taken back), HALTED and flattened at the queue's bound, ACTIVE again with an
info alert once the queue is stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from risk_manager import storage_guard
from risk_manager.rules.base import TradingState
from risk_manager.storage_guard import StorageGuard
from tests.enforcement.test_engine import Wired
from tests.small_disk import fill, small_disk


def test_reducing_then_halted_at_the_bound_then_active_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alerts: list[tuple[str, Any]] = []

    async def scenario() -> None:
        with small_disk() as disk:
            wired = Wired(disk, {"max_contracts": {"limit": 100}})
            bus = wired.engine.bus
            bus.subscribe(lambda kind, data: alerts.append((kind, data.get("severity"))))
            guard = StorageGuard(wired.store, wired.engine, wired.pipeline, bus, wired.clock)
            gate = wired.engine.gate
            await wired.connect()
            wired.broker.trade("A", "MNQ", 1)
            filler = fill(disk)
            try:
                wired.broker.trade("A", "MNQ", 2)  # its own commit fails: taken back anyway
                assert gate.state("A", None, wired.clock.now()) is TradingState.REDUCING
                await wired.executor.drain()
                assert wired.broker.size("A", "MNQ") == 1  # what was held before may stand
                bound = wired.store.writer.pending_statements + 10
                monkeypatch.setattr(storage_guard, "QUEUE_LIMIT", bound)
                guard.tick(1.0)
                assert guard.status() is not None
                assert not guard.halted  # the bound is not reached yet
                while wired.store.writer.pending_statements < bound:
                    wired.broker.trade("A", "MNQ", -1)
                    wired.broker.trade("A", "MNQ", 1)
                    await wired.executor.drain()
                guard.tick(60.0)
                assert guard.halted
                assert gate.state("A", None, wired.clock.now()) is TradingState.HALTED
                await wired.executor.drain()
                assert wired.broker.size("A", "MNQ") == 0  # flattened
            finally:
                filler.unlink()
            guard.tick(60.0)
            assert guard.status() is None
            assert gate.state("A", None, wired.clock.now()) is TradingState.ACTIVE
            wired.store.close()

    asyncio.run(scenario())
    said = [entry for entry in alerts if entry[0].startswith("storage_")]
    assert said == [
        ("storage_unavailable", "critical"),  # REDUCING
        ("storage_unavailable", "critical"),  # HALTED at the bound
        ("storage_recovered", "info"),
    ]
