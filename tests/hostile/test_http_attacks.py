"""Attacks on the HTTP layer of the real daemon: body-limit bypass, slow and idle connections,
bodies that are not JSON or carry absurd numbers."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil
import pytest

from tests.api.conftest import ADMIN, call, error_code, wait_until
from tests.daemon_process import MANUAL_CONFIG, DaemonProcess
from tests.hostile.conftest import closed_by_server, connect, read_response

ATTACK_BYTES = 64 * 1024 * 1024  # well over the 1 MB limit; RSS would show it if it were read
CHUNK = b"x" * 65536


def _chunked_with_length(path: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()


def _send_chunks(daemon: DaemonProcess, head: bytes, total: int) -> tuple[bytes, int]:
    """Send `head` then chunked data until `total` bytes or the server stops reading."""
    sent = 0
    with connect(daemon) as sock:
        sock.sendall(head)
        try:
            while sent < total:
                sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
                sent += len(CHUNK)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed the connection: what we want
        return read_response(sock), sent


def test_content_length_with_chunked_body_is_refused_and_not_read(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon()
    assert daemon.proc is not None
    process = psutil.Process(daemon.proc.pid)
    before = process.memory_info().rss

    reply, sent = _send_chunks(daemon, _chunked_with_length(f"{ADMIN}/session"), ATTACK_BYTES)

    grown = process.memory_info().rss - before
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"bad_framing" in reply
    assert sent < ATTACK_BYTES  # the server stopped reading long before the end
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 1_048_576:.0f} MB"
    assert daemon.get("/api/v1/status")["connected"] is True


def test_chunked_body_over_the_limit_is_cut_off_on_a_route_without_login(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon()
    assert daemon.proc is not None
    process = psutil.Process(daemon.proc.pid)
    before = process.memory_info().rss
    head = (
        f"POST {ADMIN}/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()

    reply, sent = _send_chunks(daemon, head, ATTACK_BYTES)

    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < ATTACK_BYTES
    assert process.memory_info().rss - before < 16 * 1024 * 1024


def test_conflicting_content_lengths_are_refused(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon()
    request = (
        f"POST {ADMIN}/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    ).encode()
    with connect(daemon) as sock:
        sock.sendall(request)
        reply = read_response(sock)

    assert reply.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413")), reply[:200]


TIMEOUT_CONFIG = MANUAL_CONFIG.replace(
    "port = 0\n", "port = 0\nrequest_timeout_seconds = 1\nidle_timeout_seconds = 1\n"
)


def test_idle_and_slow_header_connections_are_closed(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon(text=TIMEOUT_CONFIG.format(profile=""))
    silent = [connect(daemon) for _ in range(100)]
    slow = [connect(daemon) for _ in range(100)]
    for sock in slow:
        sock.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished

    deadline = time.monotonic() + 20  # generous: the limit is 1 s
    still_open = [sock for sock in silent + slow if not closed_by_server(sock, deadline)]

    for sock in silent + slow:
        sock.close()
    assert not still_open, f"{len(still_open)} of 200 connections still open"
    assert daemon.get("/api/v1/status")["connected"] is True


def test_a_body_that_never_arrives_gets_408(start_daemon: Callable[..., DaemonProcess]) -> None:
    daemon = start_daemon(text=TIMEOUT_CONFIG.format(profile=""))
    with connect(daemon) as sock:
        sock.sendall(
            f"POST {ADMIN}/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
        )
        reply = read_response(sock)

    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"symbol": "MNQ", "price": 1e28}', "less than or equal"),
        (b'{"symbol": "MNQ", "price": 1e400}', "finite number"),
        (b'{"symbol": "MNQ", "price": -1e400}', "finite number"),
        (b'{"symbol": "MNQ", "price": true}', "expected a number"),
        (b'{"symbol": "MNQ", "price": "21000"}', "expected a number"),
    ],
)
def test_absurd_prices_are_422(
    start_daemon: Callable[..., DaemonProcess], body: bytes, problem: str
) -> None:
    daemon = start_daemon()
    response = call(daemon, "POST", "/api/v1/sim/prices", content=body,
                    headers={"Content-Type": "application/json"})  # fmt: skip

    assert response.status_code == 422, response.text
    assert error_code(response) == "validation_error"
    assert problem in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "extra",
    [
        '"quantity": true',
        '"quantity": 1.0',
        '"quantity": "1"',
        '"quantity": 1, "type": "limit", "limit_price": 1e28',
        '"quantity": 1, "type": "stop", "stop_price": 1e400',
    ],
)
def test_orders_with_booleans_or_absurd_prices_are_422(
    start_daemon: Callable[..., DaemonProcess], extra: str
) -> None:
    daemon = start_daemon()
    body = f'{{"symbol": "MNQ", "side": "buy", {extra}}}'.encode()
    response = call(daemon, "POST", "/api/v1/sim/accounts/SIM-1/orders", content=body,
                    headers={"Content-Type": "application/json"})  # fmt: skip

    assert response.status_code == 422, response.text
    assert error_code(response) == "validation_error"
    assert daemon.get("/api/v1/accounts/SIM-1/positions")["positions"] == []


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00garbage", b'{"nonce": "a",'])
def test_malformed_json_is_the_documented_422(
    start_daemon: Callable[..., DaemonProcess], body: bytes
) -> None:
    daemon = start_daemon()
    response = call(daemon, "POST", f"{ADMIN}/session", content=body,
                    headers={"Content-Type": "application/json"})  # fmt: skip

    assert response.status_code == 422, response.text
    assert error_code(response) == "validation_error"


STREAMING_CONFIG = """
[daemon]
port = 0
request_timeout_seconds = 1
[broker.simulated]
market = "random_walk"
tick_interval_ms = 5
symbols = ["MNQ", "ES", "NQ", "CL", "GC", "RTY"]
[accounts.SIM-1]
profile = "p"
[profiles.p]
max_contracts.limit = 100
"""


def test_event_stream_clients_that_never_read_are_dropped(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon(text=STREAMING_CONFIG)
    assert daemon.proc is not None
    for symbol in ("MNQ", "ES", "NQ", "CL", "GC", "RTY"):  # every quote now moves PnL
        daemon.order("buy", 1, symbol)
    streams = [connect(daemon, receive_buffer=2048) for _ in range(20)]
    for sock in streams:
        sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    process = psutil.Process(daemon.proc.pid)
    port = int(daemon.url.rsplit(":", 1)[1])

    def open_streams() -> int:  # counted on the daemon's side: its sockets are what it costs
        peers = {sock.getsockname()[1] for sock in streams}
        return sum(1 for c in process.net_connections("tcp")
                   if c.laddr.port == port and c.raddr and c.raddr.port in peers)  # fmt: skip

    try:
        opened = wait_until(lambda: open_streams() == 20, 10, "the streams to open")
        deadline = time.monotonic() + 90  # generous: the buffers fill, then each goes in 1 s
        while open_streams() and time.monotonic() < deadline:
            time.sleep(0.5)
        left = open_streams()
    finally:
        for sock in streams:
            sock.close()

    assert opened
    assert left == 0, f"{left} of 20 non-reading streams still open"
    assert daemon.get("/api/v1/status")["connected"] is True
    assert "Dropped a" in daemon.output()
