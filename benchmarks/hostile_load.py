"""The daemon under hostile load: clients that open the event stream and never read, and
connections that never send a request, while quotes stream in. Measures GET /status latency
and how many of those connections the daemon closed by itself."""

from __future__ import annotations

import socket
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

from benchmarks.process import Daemon, _config
from risk_manager.domain.contracts import CONTRACTS

REQUEST_TIMEOUT = 2  # seconds, so idle connections are closed within the run


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive window (set before connecting): the daemon's buffers fill sooner.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((parts.hostname, parts.port))
    return sock


def _still_open(daemon: Daemon, socks: list[socket.socket]) -> int:
    """How many of `socks` the daemon still holds open (counted on its side: a client that
    does not read cannot see the reset behind the data it never took)."""
    port = int(daemon.url.rsplit(":", 1)[1])
    peers = {sock.getsockname()[1] for sock in socks}
    return sum(
        1
        for c in daemon.process.net_connections("tcp")
        if c.laddr.port == port and c.raddr and c.raddr.port in peers
    )


def slow_clients(streams: int = 100, idle: int = 200, seconds: float = 15.0) -> dict[str, Any]:
    """/status p50/p99 with `streams` non-reading SSE clients and `idle` silent connections."""
    symbols = tuple(sorted(CONTRACTS))
    config = _config(1, "random_walk", 5, symbols).replace(
        "port = 0\n", f"port = 0\nrequest_timeout_seconds = {REQUEST_TIMEOUT}\n"
    )
    daemon = Daemon(config)
    daemon.start()
    for symbol in symbols:  # held positions: every quote sends a pnl message to every stream
        daemon.http.post("/api/v1/sim/accounts/SIM-0/orders",
                         json={"symbol": symbol, "side": "buy", "quantity": 1})  # fmt: skip
    stream_socks = [_connect(daemon.url) for _ in range(streams)]
    for sock in stream_socks:
        sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    idle_socks = [_connect(daemon.url) for _ in range(idle)]
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        response = daemon.http.get("/api/v1/status")
        latencies.append((time.perf_counter() - t0) * 1e3)
        assert response.status_code == 200
    quotes = daemon.http.get("/api/v1/status").json()["data"]["events"]["quotes"]
    idle_closed = idle - _still_open(daemon, idle_socks)
    streams_dropped = streams - _still_open(daemon, stream_socks)
    memory_mb = daemon.process.memory_info().rss / 1_048_576
    for sock in stream_socks + idle_socks:
        sock.close()
    daemon.stop()
    latencies.sort()
    return {
        "seconds": seconds,
        "quotes_ingested": quotes,
        "sse_clients_not_reading": streams,
        "sse_clients_dropped": streams_dropped,
        "idle_connections": idle,
        "idle_connections_closed": idle_closed,
        "status_requests": len(latencies),
        "status_p50_ms": round(statistics.median(latencies), 3),
        "status_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "rss_mb": round(memory_mb, 1),
    }
