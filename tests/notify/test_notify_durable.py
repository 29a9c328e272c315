"""Critical messages survive kill -9; a slow receiver never delays enforcement; a taken API
port does not stop enforcement."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from tests.daemon_process import DaemonProcess
from tests.notify.conftest import notify_config
from tests.notify.receiver import Receiver, Reply


def test_a_critical_message_queued_before_kill9_is_delivered_after_restart(
    start_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    profile = "daily_realized_loss.limit = 100"  # a config with no rule is a critical alert too
    notify_config(home, profile, {"hook": ("webhook", f"{receiver.url}/hook")})
    start_daemon(home=home).kill9()
    receiver.default = Reply(500, {"error": "down for maintenance"})
    second = start_daemon(home=home)  # finds the crash marker: a critical message
    receiver.wait_for(lambda _: len(receiver.requests) >= 2, what="retries")
    queued = second.get("/api/v1/health")["notifications"]["hook"]
    second.kill9()
    restarted_at = time.time()
    receiver.default = Reply(200)

    third = start_daemon(home=home)
    got = receiver.wait_for(lambda found: len(found) >= 2, what="both crash messages")
    deadline = time.monotonic() + 10
    while True:  # the receiver has the requests; the daemon may still be reading the answers
        health = third.get("/api/v1/health")["notifications"]["hook"]
        if health["queued"] == 0 and health["durable_queued"] == 0:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.05)

    assert queued["durable_queued"] == 1  # the crash message, in SQLite
    assert queued["failures"] == 0
    assert "HTTP 500" in queued["last_error"]
    crashes = sorted(r.json["at"] for r in got if r.json["kind"] == "crash_recovered")
    assert len(crashes) == 2
    assert datetime.fromisoformat(crashes[0]).timestamp() < restarted_at  # from run two
    assert health["last_error"] is None


def _flat_after_breach(daemon: DaemonProcess) -> dict[str, object]:
    daemon.price(21000.00)
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)
    daemon.order("buy", 1)  # refused by the lockout: closed at once
    deadline = time.monotonic() + 10
    while daemon.get("/api/v1/accounts/SIM-1/positions")["positions"]:
        assert time.monotonic() < deadline, "position never closed"
        time.sleep(0.01)
    records = daemon.get("/api/v1/accounts/SIM-1/enforcement")["records"]
    return next(r for r in records if "lockout" in r["rules"])


def test_a_receiver_that_takes_5_s_does_not_delay_enforcement(
    start_daemon: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    profile = "daily_realized_loss.limit = 100"
    plain = start_daemon(profile, home=tmp_path / "plain")
    without = _flat_after_breach(plain)
    plain.stop()
    with Receiver(Reply(200, delay=5.0)) as slow:
        home = tmp_path / "slow"
        notify_config(home, profile, {"hook": ("webhook", f"{slow.url}/hook")})
        daemon = start_daemon(home=home)
        with_slow = _flat_after_breach(daemon)
        answered, asked = slow.answered, len(slow.requests)
        daemon.stop()
    print(f"\nbreach → close latency: {without['latency_ms']} ms without notifications, "
          f"{with_slow['latency_ms']} ms with a 5 s receiver")  # fmt: skip
    # The account was flat while the receiver still sat on the messages it had been sent.
    assert asked >= 1
    assert answered == 0
    assert with_slow["status"] == "done"


def test_a_taken_api_port_does_not_stop_enforcement(receiver: Receiver, tmp_path: Path) -> None:
    home = tmp_path / "home"
    channels = {"hook": ("webhook", f"{receiver.url}/hook")}
    notify_config(home, "daily_realized_loss.limit = 100", channels)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    log = (tmp_path / "console.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        got = receiver.wait_for(
            lambda found: any(r.json["kind"] == "api_bind_failed" for r in found),
            what="the bind failure",
        )
        assert proc.poll() is None  # still running, still enforcing
        assert (home / "state" / "daemon.pid").read_text() == str(proc.pid)
        squatter.close()
        receiver.wait_for(lambda found: any(r.json["kind"] == "api_bound" for r in found),
                          what="the bind on retry")  # fmt: skip
        url = (home / "state" / "daemon.url").read_text()
        health = httpx.get(f"{url}/api/v1/health", timeout=5).json()["data"]
    finally:
        squatter.close()
        proc.terminate()
        code = proc.wait(30)
        log.close()
    failure = next(r.json for r in got if r.json["kind"] == "api_bind_failed")
    assert failure["severity"] == "critical"
    assert f"cannot listen on 127.0.0.1:{port}" in failure["text"]
    assert health["broker"]["connected"] is True
    assert code == 0
