"""The SSE generator in-process: keep-alive comments and the end on stop (no 15 s waits)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from risk_manager.api.routers import trader
from risk_manager.bus import EventBus


def fake_runtime() -> Any:
    return SimpleNamespace(bus=EventBus(), stop_requested=asyncio.Event())


async def collect(runtime: Any, produce: Any) -> list[str]:
    chunks: list[str] = []
    async for chunk in trader.event_stream(runtime):
        chunks.append(chunk)
        produce(chunks)
    return chunks


def test_keep_alive_comment_when_idle_then_message_then_end_on_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trader, "KEEP_ALIVE_SECONDS", 0.05)
    monkeypatch.setattr(trader, "hello", lambda runtime: {"snapshot": True})

    async def scenario() -> list[str]:
        runtime = fake_runtime()

        def produce(chunks: list[str]) -> None:
            if chunks[-1].startswith(": keep-alive"):
                runtime.bus.publish("pnl", {"account_id": "A", "realized": "1"})
            elif chunks[-1].startswith("event: pnl"):
                runtime.stop_requested.set()

        return await asyncio.wait_for(collect(runtime, produce), 5)

    chunks = asyncio.run(scenario())

    assert chunks[0] == 'event: hello\ndata: {"snapshot":true}\n\n'
    assert chunks[1] == ": keep-alive\n\n"
    assert chunks[2] == 'event: pnl\ndata: {"account_id":"A","realized":"1"}\n\n'
    assert len(chunks) == 3


def test_stream_unsubscribes_from_the_bus_when_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trader, "hello", lambda runtime: {})

    async def scenario() -> bool:
        runtime = fake_runtime()
        stream = trader.event_stream(runtime)
        await anext(stream)
        subscribed = runtime.bus.has_listeners
        await stream.aclose()  # what a client disconnect amounts to
        return subscribed and not runtime.bus.has_listeners

    assert asyncio.run(scenario())
