"""The daemon's home on a 2 MB tmpfs, filled while trading: the daemon stays up and enforcing
(REDUCING: an exposure-adding fill is flattened), /health says why, and when space returns it
catches up: after a restart the database holds every fill, none twice. A start on a full or a
read-only home comes up the same way."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.exit_codes import ExitCode
from risk_manager.auth.passwords import hash_password, save_secret
from tests.api.conftest import ADMIN, ITERATIONS, PASSWORD, call, error_code, login, wait_until
from tests.cli.conftest import run_cli
from tests.daemon_process import MANUAL_CONFIG, DaemonProcess, write_config
from tests.notify.receiver import Receiver
from tests.small_disk import fill, remount, small_disk

# Quieter logs than the test default (DEBUG), or they alone would fill 2 MB; a rule that never
# fires, so a config replacement is not refused as empty.
CONFIG = MANUAL_CONFIG.replace('level = "DEBUG"', 'level = "INFO"').format(
    profile="daily_realized_loss.limit = 100000"
)


READS = (
    "/health", "/status", "/accounts", "/accounts/SIM-1/positions", "/accounts/SIM-1/pnl",
    "/accounts/SIM-1/lockouts", "/accounts/SIM-1/enforcement", "/enforcement", "/rules",
    "/trader/sessions",
)  # fmt: skip


def _fills(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        return [row[0] for row in db.execute("SELECT event_id FROM fills ORDER BY event_id")]


def _sim_fills(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        return [f"fill:{row[0]}" for row in db.execute("SELECT fill_id FROM fills ORDER BY 1")]


def _account(daemon: DaemonProcess) -> dict[str, Any]:
    return daemon.get("/api/v1/status")["accounts"][0]


def _size(daemon: DaemonProcess) -> int:
    positions = daemon.get("/api/v1/accounts/SIM-1/positions")["positions"]
    return sum(p["size"] for p in positions)


def _kinds(receiver: Receiver) -> list[tuple[str, str]]:
    return [(r.json["kind"], r.json["severity"]) for r in receiver.delivered()]


def test_full_disk_while_trading_reduces_then_catches_up(tmp_path: Path) -> None:
    with small_disk() as disk, Receiver() as receiver:
        home = disk / "home"
        hook = '[notifications.channels.hook]\nkind = "webhook"\nsecret = "hook.url"\n'
        write_config(home, text=f'{CONFIG}\n{hook}min_severity = "info"\n')
        (home / "secrets").mkdir()
        (home / "secrets" / "hook.url").write_text(f"{receiver.url}/hook")
        save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD, iterations=ITERATIONS))
        daemon = DaemonProcess(home)
        daemon.log_path = tmp_path / "console.log"  # not on the small disk
        try:
            daemon.start()
            admin = login(daemon)
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
            doctor = run_cli("admin", "doctor", "--json", "--url", daemon.url, home=home)
            assert doctor.code == ExitCode.UNHEALTHY
            (storage,) = [check for check in doctor.json() if check["check"] == "storage"]
            assert "cannot write its database" in storage["detail"]
            assert "REDUCING" in storage["detail"]
            changed = CONFIG.replace(
                "snapshot_interval_seconds = 30", "snapshot_interval_seconds = 20"
            )
            toml = {**admin, "Content-Type": "application/toml"}
            refused = call(daemon, "PUT", f"{ADMIN}/config", toml, content=changed.encode())
            assert refused.status_code == 507, refused.text
            assert error_code(refused) == "config_write_failed"
            assert (
                "snapshot_interval_seconds = 30"
                in (home / "config" / "risk_manager.toml").read_text()
            )
            receiver.wait_for(
                lambda _: ("storage_unavailable", "critical") in _kinds(receiver),
                what="the critical alert",
            )  # fmt: skip

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
            receiver.wait_for(
                lambda _: ("storage_recovered", "info") in _kinds(receiver), what="recovered"
            )  # fmt: skip
            daemon.order("buy", 1)
            daemon.order("sell", 1)
            assert daemon.stop() == 0

            database = home / "state" / "risk_manager.sqlite3"
            expected = _sim_fills(home / "state" / "simulator.sqlite3")
            assert len(expected) == 8  # 2 + entry and its flatten, twice + 2
            assert _fills(database) == expected  # none lost, none twice
            # The alert's outbox row: queued, sent, gone.
            with closing(sqlite3.connect(database)) as db:
                assert db.execute("SELECT COUNT(*) FROM notification_outbox").fetchone() == (0,)
            daemon.start()
            assert _size(daemon) == 0
            assert daemon.get("/api/v1/status")["events"]["applied"] == 0  # nothing missed
            assert daemon.stop() == 0
        finally:
            daemon.ensure_stopped()


def _start_unannounced(daemon: DaemonProcess) -> DaemonProcess:
    """Start where the URL file cannot be written: read the URL from the console instead."""
    seen = len(daemon.output())
    daemon.log = daemon.log_path.open("ab")
    daemon.proc = subprocess.Popen(
        [sys.executable, "-m", "risk_manager", "run", "--home", str(daemon.home), "--port", "0",
         *daemon.extra_args],
        stdout=daemon.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    found = wait_until(
        lambda: re.search(r"API listening on (http://\S+)", daemon.output()[seen:]),
        timeout=15, what="the API",
    )  # fmt: skip
    daemon.url = found.group(1)
    daemon.client = httpx.Client(base_url=daemon.url, timeout=10.0)
    return daemon


def _storage(daemon: DaemonProcess) -> dict[str, Any] | None:
    return daemon.get("/api/v1/health")["storage"]


def test_a_start_on_a_full_or_read_only_home_comes_up_reducing(tmp_path: Path) -> None:
    with small_disk() as disk:
        home = disk / "home"
        write_config(home, text=CONFIG)
        daemon = DaemonProcess(home)
        daemon.log_path = tmp_path / "console.log"
        try:
            daemon.start()
            daemon.order("buy", 1)
            assert daemon.stop() == 0

            filler = fill(disk)
            _start_unannounced(daemon)
            assert "for writing" in _storage(daemon)["problem"]
            assert _account(daemon)["trading_state"] == "reducing"
            assert _size(daemon) == 1  # the state on disk, read without writing
            for path in READS:  # every read route answers from a database opened read-only
                assert daemon.client is not None
                assert daemon.client.get(f"/api/v1{path}").status_code == 200, path
            daemon.order("buy", 1)
            wait_until(lambda: _size(daemon) == 1, what="the added contract taken back")
            filler.unlink()
            wait_until(lambda: _storage(daemon) is None, timeout=30, what="storage back")
            assert daemon.stop() == 0

            if not remount(disk, "ro"):
                pytest.skip("this kernel refuses to remount the tmpfs read-only")
            try:
                _start_unannounced(daemon)
                assert _storage(daemon) is not None
                daemon.order("sell", 2)  # flattens (allowed) and opens 1 short (taken back)
                wait_until(lambda: _size(daemon) == 0, what="the short taken back")
            finally:
                assert remount(disk, "rw")
            wait_until(lambda: _storage(daemon) is None, timeout=30, what="storage back")
            daemon.order("buy", 1)  # the sim's own queue is stored at its next action
            assert daemon.stop() == 0
            expected = _sim_fills(home / "state" / "simulator.sqlite3")
            assert len(expected) == 6
            assert _fills(home / "state" / "risk_manager.sqlite3") == expected
        finally:
            daemon.ensure_stopped()


def test_a_first_start_on_a_full_disk_exits_3_and_the_next_one_starts(tmp_path: Path) -> None:
    with small_disk() as disk:
        home = disk / "home"
        write_config(home, text=CONFIG)
        filler = fill(disk)
        first = subprocess.run(
            [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", "0"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        filler.unlink()
        assert first.returncode == 3
        output = first.stdout + first.stderr
        refusals = [line for line in output.splitlines() if "annot start" in line]
        assert len(refusals) == 1
        assert "risk_manager.sqlite3" in refusals[0]
        assert "full" in refusals[0]
        assert "Traceback" not in output
        daemon = DaemonProcess(home)
        daemon.log_path = tmp_path / "console.log"
        try:
            daemon.start()  # the empty file the first try left is not "a lost database"
            assert daemon.get("/api/v1/health")["state_restored"] is None
            assert daemon.stop() == 0
        finally:
            daemon.ensure_stopped()
