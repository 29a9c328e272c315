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
    sock = socket.create_connection((parts.hostname, parts.port))
    # A small receive buffer: the daemon's send buffer fills sooner, as with a stuck client.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


def _closed(sock: socket.socket, wait: float) -> bool:
    """Drain what the daemon sent; True when it closed the connection within `wait` seconds."""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            if sock.recv(1 << 20) == b"":
                return True
    except TimeoutError:
        return False
    except OSError:
        return True
    return False


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
    idle_closed = sum(_closed(sock, 0.05) for sock in idle_socks)
    streams_dropped = sum(_closed(sock, 0.05) for sock in stream_socks)
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
