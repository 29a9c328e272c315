"""The SSE stream over real HTTP: hello snapshot, live fills, and a clean end on shutdown."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx

from tests.api.conftest import ADMIN, StartAdmin, call, login, lose_past_daily_limit
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
    assert hello["accounts"][0]["trading_state"] == "halted"  # a daily loss keeps it flat


def test_every_lockout_end_is_streamed_whatever_ended_it(start_admin: StartAdmin) -> None:
    daemon = start_admin('auth_loss_guard = {}\nsymbol_blocks.symbols = ["ES"]')
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response.iter_lines())
        until(stream, "hello")
        daemon.post("/api/v1/sim/accounts/SIM-1/can-trade", {"can_trade": False})
        guard = until(stream, "lockout")
        daemon.post("/api/v1/sim/accounts/SIM-1/can-trade", {"can_trade": True})
        restored = until(stream, "lockout_ended")
        daemon.order("buy", 1, symbol="ES")
        block = until(stream, "lockout")
        path = daemon.home / "config" / "risk_manager.toml"
        path.write_text(path.read_text().replace('symbols = ["ES"]', 'symbols = ["CL"]'))
        assert call(daemon, "POST", f"{ADMIN}/config/reload", login(daemon)).status_code == 200
        unblocked = until(stream, "lockout_ended")

    assert (restored["id"], restored["end_reason"]) == (guard["id"], "canTrade restored")
    assert (unblocked["id"], unblocked["end_reason"]) == (block["id"], "config change")
    assert unblocked["ended_at"] is not None


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
