"""The daemon's home on a 2 MB tmpfs, filled while trading: the daemon stays up and enforcing
(REDUCING: an exposure-adding fill is flattened), /health says why, and when space returns it
catches up: after a restart the database holds every fill, none twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.api.conftest import wait_until
from tests.daemon_process import MANUAL_CONFIG, DaemonProcess, write_config
from tests.small_disk import fill, small_disk

# Quieter logs than the test default (DEBUG), or they alone would fill 2 MB.
CONFIG = MANUAL_CONFIG.replace('level = "DEBUG"', 'level = "INFO"').format(profile="")


def _fills(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT event_id FROM fills ORDER BY event_id")]


def _sim_fills(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [f"fill:{row[0]}" for row in db.execute("SELECT fill_id FROM fills ORDER BY 1")]


def _account(daemon: DaemonProcess) -> dict[str, Any]:
    return daemon.get("/api/v1/status")["accounts"][0]


def _size(daemon: DaemonProcess) -> int:
    positions = daemon.get("/api/v1/accounts/SIM-1/positions")["positions"]
    return sum(p["size"] for p in positions)


def test_full_disk_while_trading_reduces_then_catches_up(tmp_path: Path) -> None:
    with small_disk() as disk:
        home = disk / "home"
        write_config(home, text=CONFIG)
        daemon = DaemonProcess(home)
        daemon.log_path = tmp_path / "console.log"  # not on the small disk
        try:
            daemon.start()
            daemon.order("buy", 1)
            daemon.order("sell", 1)
            assert _account(daemon)["trading_state"] == "active"

            filler = fill(disk)
            daemon.order("buy", 2)  # adds exposure while nothing can be written
            health = wait_until(lambda: daemon.get("/api/v1/health")["storage"], what="storage")
            assert "full" in health["problem"]
            assert daemon.get("/api/v1/health")["status"] == "degraded"
            account = _account(daemon)
            assert account["trading_state"] == "reducing"
            assert [c["name"] for c in account["conditions"]] == ["storage_unavailable"]
            wait_until(lambda: _size(daemon) == 0, what="the entry flattened")

            daemon.order("sell", 1)  # a new short: exposure again, flattened again
            wait_until(lambda: _size(daemon) == 0, what="the short flattened")
            assert daemon.proc is not None
            assert daemon.proc.poll() is None  # still up

            filler.unlink()
            wait_until(
                lambda: daemon.get("/api/v1/health")["storage"] is None,
                timeout=30, what="storage back",
            )  # fmt: skip
            assert _account(daemon)["trading_state"] == "active"
            daemon.order("buy", 1)
            daemon.order("sell", 1)
            assert daemon.stop() == 0

            database = home / "state" / "risk_manager.sqlite3"
            expected = _sim_fills(home / "state" / "simulator.sqlite3")
            assert len(expected) == 8  # 2 + entry and its flatten, twice + 2
            assert _fills(database) == expected  # none lost, none twice
            daemon.start()
            assert _size(daemon) == 0
            assert daemon.get("/api/v1/status")["events"]["applied"] == 0  # nothing missed
            assert daemon.stop() == 0
        finally:
            daemon.ensure_stopped()
