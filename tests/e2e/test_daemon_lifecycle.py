"""Issue: the daemon, its REST API and the simulated broker, end to end over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.daemon_process import DaemonProcess, write_config

BRIEF_HEALTH_FIELDS = {"status", "uptime", "accounts", "memory_usage_mb", "cpu_usage_percent"}
ACCOUNT_HEALTH_FIELDS = {"connected", "last_event", "positions", "lockout"}


def test_health_answers_with_every_field_of_the_brief(start_daemon) -> None:
    daemon = start_daemon()

    health = daemon.get("/api/v1/health")

    assert health.keys() >= BRIEF_HEALTH_FIELDS
    assert health["status"] == "healthy"
    assert health["accounts"]["SIM-1"].keys() >= ACCOUNT_HEALTH_FIELDS
    assert health["memory_usage_mb"] > 0
    assert health["previous_run"] == "clean"


def test_sim_buy_then_price_drop_shows_unrealized_loss_and_survives_restart(start_daemon) -> None:
    daemon = start_daemon()
    daemon.price(21000.00)
    daemon.order("buy", 2)
    daemon.price(20990.00)

    positions = daemon.get("/api/v1/accounts/SIM-1/positions")["positions"]
    pnl = daemon.get("/api/v1/accounts/SIM-1/pnl")

    assert [(p["symbol"], p["size"]) for p in positions] == [("MNQ", 2)]
    assert positions[0]["unrealized_pnl"] == -40.00
    assert pnl["unrealized"] == -40.00
    assert pnl["fees"] == 0.74  # 2 contracts x $0.37 per side
    assert daemon.stop(signal.SIGTERM) == 0
    assert "Daemon stopping" in daemon.output()

    again = start_daemon(home=daemon.home)
    positions = again.get("/api/v1/accounts/SIM-1/positions")["positions"]
    assert [(p["symbol"], p["size"], p["avg_price"]) for p in positions] == [("MNQ", 2, 21000.0)]
    assert again.get("/api/v1/accounts/SIM-1/pnl")["fees"] == 0.74
    assert again.get("/api/v1/health")["previous_run"] == "clean"


def test_round_trip_realizes_loss_net_of_fees(start_daemon) -> None:
    daemon = start_daemon()
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)

    pnl = daemon.get("/api/v1/accounts/SIM-1/pnl")

    assert pnl["realized_gross"] == -120.00
    assert pnl["fees"] == 1.48
    assert pnl["realized"] == -121.48
    assert daemon.get("/api/v1/accounts/SIM-1/positions")["positions"] == []


def test_sigint_stops_cleanly_too(start_daemon) -> None:
    daemon = start_daemon()
    assert daemon.stop(signal.SIGINT) == 0
    assert not (daemon.home / "state" / "daemon.pid").exists()


def test_kill9_is_noticed_as_a_crash_and_loses_no_committed_fill(start_daemon) -> None:
    daemon = start_daemon()
    daemon.order("buy", 1)
    daemon.kill9()

    again = start_daemon(home=daemon.home)

    assert again.get("/api/v1/health")["previous_run"] == "crashed"
    assert again.get("/api/v1/accounts/SIM-1/pnl")["fills"] == 1
    assert "did not stop cleanly" in again.output()


def test_unknown_account_and_bad_bodies_use_the_envelope(start_daemon) -> None:
    daemon = start_daemon()
    assert daemon.client is not None

    missing = daemon.client.get("/api/v1/accounts/NOPE/pnl")
    bad = daemon.client.post(
        "/api/v1/sim/accounts/SIM-1/orders", json={"symbol": "MNQ", "side": "up", "quantity": -1}
    )
    off_grid = daemon.client.post("/api/v1/sim/prices", json={"symbol": "MNQ", "price": 21000.1})

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "account_not_found"
    assert bad.status_code == 422
    assert bad.json()["status"] == "error"
    assert "side" in bad.json()["error"]["message"]
    assert off_grid.status_code == 422
    assert daemon.get("/api/v1/health")["status"] == "healthy"


def test_foreign_host_header_is_refused(start_daemon) -> None:
    daemon = start_daemon()

    response = httpx.get(f"{daemon.url}/api/v1/health", headers={"Host": "evil.example"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_host"


def test_unknown_config_key_is_refused_with_exit_2_naming_the_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, "daily_realized_loss.limit = 100\ndaily_realized_loss.limt = 5")

    result = subprocess.run(
        [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 2
    assert "profiles.test.daily_realized_loss.limt: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_first_run_writes_the_example_config(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    daemon = DaemonProcess(home).start()
    try:
        assert (home / "config" / "risk_manager.toml").read_text().startswith("# Risk Manager")
        assert list(daemon.get("/api/v1/accounts")) != []
        # Test controls (clock, link, canTrade, stall) could end a lockout: off by default.
        assert daemon.client is not None
        moved = daemon.client.post("/api/v1/sim/clock", json={"now": "2030-01-01T00:00:00Z"})
        assert moved.status_code == 404
    finally:
        assert daemon.stop() == 0
