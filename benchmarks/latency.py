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


async def breach_latency(
    breaches: int = 500, attach: Callable[[Harness], Any] | None = None
) -> dict[str, Any]:
    """max_contracts = 1; each buy of 2 breaches it and is reduced back to 1.

    `attach(harness)` adds a listener to the wiring first (notifications, for their cost).
    """
    queue: asyncio.Queue[Event] = asyncio.Queue()
    received: dict[str, float] = {}
    sent: list[float] = []

    def sink(event: Event) -> None:
        # Time zero: the moment the breaching fill reaches the daemon from the broker.
        if isinstance(event, Fill):
            received.setdefault(event.event_id, time.perf_counter())
        queue.put_nowait(event)

    harness = await build(config_for(1, "max_contracts = {limit = 1}"), sink)
    if attach is not None:
        attach(harness)
    original = harness.broker.partial_close

    async def timed_partial_close(account_id: str, symbol: str, quantity: int) -> Any:
        sent.append(time.perf_counter())
        return await original(account_id, symbol, quantity)

    harness.broker.partial_close = timed_partial_close  # type: ignore[method-assign]

    async def consume() -> None:
        while True:
            event = await queue.get()
            harness.pipeline.handle(event)
            queue.task_done()

    consumer = asyncio.create_task(consume())
    harness.broker.set_price("MNQ", Decimal("21000"))
    harness.broker.submit_order("BENCH-0", "MNQ", Side.BUY, 1, OrderType.MARKET)
    await queue.join()
    samples = []
    for _ in range(breaches):
        before = len(sent)
        harness.broker.submit_order("BENCH-0", "MNQ", Side.BUY, 2, OrderType.MARKET)
        fill_at = max(received.values())
        await queue.join()
        await harness.executor.drain()
        await queue.join()
        if len(sent) > before:
            samples.append((sent[before] - fill_at) * 1e3)
    consumer.cancel()
    await harness.broker.close()
    samples.sort()
    return {
        "breaches": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
        "max_ms": round(samples[-1], 3),
    }
