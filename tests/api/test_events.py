"""The SSE stream over real HTTP: hello snapshot, live fills, and a clean end on shutdown."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx

from tests.api.conftest import lose_past_daily_limit
from tests.daemon_process import DaemonProcess

TIMEOUT = httpx.Timeout(10.0, read=10.0)


def messages(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs from SSE lines; comments are skipped."""
    kind, data = "message", ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def until(stream: Iterator[tuple[str, Any]], kind: str) -> Any:
    for found, data in stream:
        if found == kind:
            return data
    raise AssertionError(f"stream ended before a {kind!r} event")


def test_stream_starts_with_hello_then_delivers_a_fill(daemon: DaemonProcess) -> None:
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response.iter_lines())
        first = next(stream)
        daemon.order("buy", 1)
        fill = until(stream, "fill")

    assert response.headers["content-type"].startswith("text/event-stream")
    kind, hello = first
    assert kind == "hello"
    account = hello["accounts"][0]
    assert account["account_id"] == "SIM-1"
    assert {"realized", "unrealized", "lockouts"} <= set(account)
    assert fill["account_id"] == "SIM-1"
    assert (fill["symbol"], fill["side"], fill["quantity"]) == ("MNQ", "buy", 1)


def test_hello_lists_active_lockouts_and_stream_carries_lockout_events(
    daemon: DaemonProcess,
) -> None:
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response.iter_lines())
        until(stream, "hello")
        lose_past_daily_limit(daemon)
        lockout = until(stream, "lockout")
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        hello = until(messages(response.iter_lines()), "hello")

    assert lockout["account_id"] == "SIM-1"
    assert lockout["id"] in [x["id"] for x in hello["accounts"][0]["lockouts"]]
    assert hello["accounts"][0]["lockout"] is True


def test_open_stream_ends_when_the_daemon_stops_without_delaying_it(
    daemon: DaemonProcess,
) -> None:
    assert daemon.proc is not None
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response.iter_lines())
        until(stream, "hello")
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        rest = list(stream)  # returns only when the daemon closes the stream
        ended = time.monotonic() - started

    code = daemon.proc.wait(10)
    daemon.log.close()
    assert rest == [] or all(kind != "hello" for kind, _ in rest)
    assert code == 0
    # uvicorn would wait its 2 s graceful-shutdown budget for a stream that never ends.
    assert ended < 1.8
