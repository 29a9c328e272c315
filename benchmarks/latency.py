"""Breach → first enforcement request at the broker, in process, over many breaches."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from benchmarks.harness import Harness, build, config_for
from risk_manager.domain.events import Event, Fill, OrderType, Side


class BreachRig:
    """One wired harness with max_contracts = 1 and a position of 1: each `breach()` buys 2,
    which breaches the rule and is reduced back to 1, and returns fill → close request in ms.

    `attach(harness)` adds a listener to the wiring first (notifications, for their cost).
    """

    def __init__(self, harness: Harness, queue: asyncio.Queue[Event]) -> None:
        self.harness = harness
        self.queue = queue
        self.received: dict[str, float] = {}
        self.sent: list[float] = []
        self._consumer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, attach: Callable[[Harness], Any] | None = None) -> BreachRig:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        received: dict[str, float] = {}

        def sink(event: Event) -> None:
            # Time zero: the moment the breaching fill reaches the daemon from the broker.
            if isinstance(event, Fill):
                received.setdefault(event.event_id, time.perf_counter())
            queue.put_nowait(event)

        rig = cls(await build(config_for(1, "max_contracts = {limit = 1}"), sink), queue)
        rig.received = received
        if attach is not None:
            attach(rig.harness)
        broker = rig.harness.broker
        original = broker.partial_close

        async def timed_partial_close(account_id: str, symbol: str, quantity: int) -> Any:
            rig.sent.append(time.perf_counter())
            return await original(account_id, symbol, quantity)

        broker.partial_close = timed_partial_close  # type: ignore[method-assign]
        rig._consumer = asyncio.create_task(rig._consume())
        broker.set_price("MNQ", Decimal("21000"))
        broker.submit_order("BENCH-0", "MNQ", Side.BUY, 1, OrderType.MARKET)
        await queue.join()
        return rig

    async def _consume(self) -> None:
        while True:
            event = await self.queue.get()
            self.harness.pipeline.handle(event)
            self.queue.task_done()

    async def breach(self) -> float | None:
        """One breach; fill → first close request in ms (None if no close was sent)."""
        before = len(self.sent)
        self.harness.broker.submit_order("BENCH-0", "MNQ", Side.BUY, 2, OrderType.MARKET)
        fill_at = max(self.received.values())
        await self.queue.join()
        await self.harness.executor.drain()
        await self.queue.join()
        return (self.sent[before] - fill_at) * 1e3 if len(self.sent) > before else None

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
        await self.harness.broker.close()


def summarize(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "breaches": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
        "max_ms": round(ordered[-1], 3),
    }


async def breach_latency(
    breaches: int = 500, attach: Callable[[Harness], Any] | None = None
) -> dict[str, Any]:
    """p50 / p99 / max of fill → close request over `breaches` breaches of one rig."""
    rig = await BreachRig.open(attach)
    samples = [ms for _ in range(breaches) if (ms := await rig.breach()) is not None]
    await rig.close()
    return summarize(samples)
