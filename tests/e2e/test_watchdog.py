"""The loop watchdog and graceful stops, with real signals against the real daemon process."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from tests.daemon_process import MANUAL_CONFIG
from tests.e2e.conftest import positions, working_orders

EX_SOFTWARE = 70


def _send_without_waiting(url: str, path: str, body: dict[str, float]) -> socket.socket:
    """Put a POST on the wire and return the open socket (its answer would never come)."""
    port = int(url.rsplit(":", 1)[1])
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode() + payload)
    return sock


def test_watchdog_when_loop_stalls_then_exits_70_and_logs_the_stall(start_daemon):
    text = MANUAL_CONFIG.replace("[daemon]\n", "[daemon]\nwatchdog_seconds = 2\n")
    daemon = start_daemon(text=text.format(profile=""))
    daemon.order("buy", 1)
    assert daemon.proc is not None

    stalled_at = time.monotonic()
    with _send_without_waiting(daemon.url, "/api/v1/sim/stall", {"seconds": 6}):
        code = daemon.proc.wait(timeout=8)
    exited_after = time.monotonic() - stalled_at
    daemon.log.close()  # the process ended on its own: nothing else will close its console log

    assert code == EX_SOFTWARE
    # 2 s after the last heartbeat (beats come every 0.5 s, so up to 0.5 s before the stall),
    # noticed within one 0.5 s check: between 1.5 and 2.5 s, well inside the 5 s budget.
    assert 1.5 <= exited_after < 5.0
    assert "event loop stalled" in daemon.output()
    assert "event loop stalled" in (daemon.home / "logs" / "error.log").read_text()

    again = start_daemon(home=daemon.home)  # what the supervisor does next
    assert again.get("/api/v1/health")["previous_run"] == "crashed"
    assert positions(again) == {"MNQ": 1}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_when_running_then_exits_0_quickly_with_state_saved(start_daemon, sig):
    daemon = start_daemon()
    daemon.order("buy", 2)
    daemon.order("sell", 2, type="stop", stop_price=20950.00)
    daemon.order("sell", 1, symbol="ES")
    daemon.price(20990.00)

    asked = time.monotonic()
    code = daemon.stop(sig)
    took = time.monotonic() - asked

    assert code == 0
    assert took < 3.0  # SPEC: under 30 s, target under 2 s
    state = daemon.home / "state"
    assert not (state / "daemon.pid").exists()
    assert not (state / "running.marker").exists()
    assert "Daemon stopped cleanly" in daemon.output()

    again = start_daemon(home=daemon.home)
    assert again.get("/api/v1/health")["previous_run"] == "clean"
    assert positions(again) == {"MNQ": 2, "ES": -1}
    assert [(o["side"], o["type"], o["stop_price"]) for o in working_orders(again)] == [
        ("sell", "stop", 20950.0)
    ]
    assert again.get("/api/v1/accounts/SIM-1/pnl")["unrealized"] == -40.00
    assert "did not stop cleanly" not in again.output()
