"""kill -9 at awkward moments under a restart loop (the job NSSM / systemd do in production).

A `Supervisor` restarts the daemon on the same home whenever it dies. The test fires a trader's
request at the simulator from a thread and SIGKILLs the daemon a few milliseconds later, at
several offsets, so the kill lands before the broker acted, between the broker's fill and the
daemon's commit, between the commit and the enforcement, mid-flatten, or after it all. After each
restart the daemon must agree with the simulator's own SQLite file (the broker's truth) exactly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import MANUAL_CONFIG, DaemonProcess, write_config
from tests.e2e.conftest import (
    ACCOUNT,
    CHICAGO,
    broker_orders,
    broker_positions,
    positions,
    wait_for,
)

# Kill offsets after the request is on the wire: a sweep in 0.5 ms steps, then coarser ones for
# slower machines; the sweeps stop early once the window they are after has been hit.
SWEEP_MS = (*(step / 2 for step in range(17)), 10.0, 12.0, 15.0, 20.0)
ORDERS = "/api/v1/sim/accounts/SIM-1/orders"


class Supervisor:
    """Restart the daemon on the same home whenever its process ends (like NSSM's AppExit)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runs: list[DaemonProcess] = []
        self.exit_codes: list[int] = []
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    @property
    def daemon(self) -> DaemonProcess:
        return self.runs[-1]

    def start(self) -> Supervisor:
        self.runs.append(DaemonProcess(self.home).start())
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.is_set():
            current = self.runs[-1]
            assert current.proc is not None
            code = current.proc.poll()
            if code is None:
                time.sleep(0.005)
                continue
            current.log.close()
            if self._stopping.is_set():
                return
            self.exit_codes.append(code)
            fresh = DaemonProcess(self.home).start()
            with self._changed:
                self.runs.append(fresh)
                self._changed.notify_all()

    def kill9(self) -> None:
        """SIGKILL the running daemon (no cleanup at all), leaving the restart to the watcher."""
        proc = self.daemon.proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)

    def wait_restarted(self, runs: int, timeout: float = 15.0) -> DaemonProcess:
        """Block until the `runs`-th run is up and serving; return it."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.runs) >= runs, timeout):
                raise AssertionError(f"the daemon was not restarted (runs: {len(self.runs)})")
        return self.daemon

    def crash_and_restart(self) -> DaemonProcess:
        runs = len(self.runs)
        self.kill9()
        return self.wait_restarted(runs + 1)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for run in self.runs:
            run.ensure_stopped()


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Any]:
    started: list[Supervisor] = []

    def start(profile: str, text: str | None = None) -> Supervisor:
        home = tmp_path / "home"
        write_config(home, profile, text)
        supervisor = Supervisor(home).start()
        started.append(supervisor)
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()


def fire_and_kill(supervisor: Supervisor, path: str, body: dict[str, Any], delay_ms: float) -> str:
    """Put a request on the wire, SIGKILL the daemon `delay_ms` later, wait for the restart.

    A raw, already-connected socket keeps the offset honest (no client set-up in the way).
    Returns what the restarted run logged about its recovery: "resumed" (a committed batch was
    still pending), "reconciled" (the broker had fills the daemon never committed) or "clean".
    """
    daemon = supervisor.daemon
    # Warm the order route first (a rejected order changes nothing): a fresh process's first
    # request pays one-off set-up costs that would blur the offset by tens of milliseconds.
    assert daemon.client is not None
    warm = daemon.client.post(ORDERS, json={"symbol": "ZZZ", "side": "buy", "quantity": 1})
    assert warm.status_code == 422, warm.text
    runs, logged = len(supervisor.runs), len(daemon.output())
    port = int(daemon.url.rsplit(":", 1)[1])
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + payload)
        due = time.perf_counter() + delay_ms / 1000
        while time.perf_counter() < due:
            pass  # busy-wait: sleep() granularity is too coarse for sub-millisecond offsets
        supervisor.kill9()
    restarted = supervisor.wait_restarted(runs + 1)
    recovery = restarted.output()[logged:]
    if "Resuming enforcement batch" in recovery:
        return "resumed"
    return "reconciled" if "missed fill(s) applied" in recovery else "clean"


def _sim_fills_today(daemon: DaemonProcess, trading_day: date) -> list[tuple[Decimal, Decimal]]:
    """(gross realized, fee) of every fill the simulator booked in the daemon's trading day."""
    day_start = datetime.combine(trading_day - timedelta(days=1), datetime.min.time(), CHICAGO)
    day_start = day_start.replace(hour=17)
    path = daemon.home / "state" / "simulator.sqlite3"
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT ts, realized, fee FROM fills WHERE account_id = 'SIM-1'")
        return [
            (Decimal(realized), Decimal(fee))
            for ts, realized, fee in rows
            if datetime.fromisoformat(ts) >= day_start
        ]


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def assert_recovered(supervisor: Supervisor, crashes: int) -> DaemonProcess:
    """The restarted daemon agrees with the broker exactly and finished every enforcement."""
    daemon = supervisor.daemon
    assert daemon.get("/api/v1/health")["previous_run"] == "crashed"
    assert daemon.output().count("did not stop cleanly") == crashes

    def settled() -> tuple[list[dict[str, Any]]] | None:
        found = daemon.get(f"{ACCOUNT}/enforcement", params={"limit": 500})["records"]
        return None if any(r["status"] == "pending" for r in found) else (found,)

    # A close journaled just before the kill but never sent is looked for at the broker for up
    # to 3 s (`Timing.order_final_s`) before the restarted daemon counts it as never sent.
    (records,) = wait_for(settled, timeout=10.0, what="no enforcement record left pending")
    assert [r["id"] for r in records if r["status"] != "done"] == []
    # Enforcement that was still due when the kill came is finished by now.
    wait_for(lambda: positions(daemon) == broker_positions(daemon), what="positions agree")

    pnl = daemon.get(f"{ACCOUNT}/pnl")
    fills = _sim_fills_today(daemon, date.fromisoformat(pnl["trading_day"]))
    gross = sum((realized for realized, _ in fills), Decimal(0))
    fees = sum((fee for _, fee in fills), Decimal(0))
    assert pnl["fills"] == len(fills), "a committed fill was lost or applied twice"
    assert Decimal(str(pnl["realized_gross"])) == gross
    assert Decimal(str(pnl["fees"])) == fees
    assert Decimal(str(pnl["realized"])) == gross - fees
    state = daemon.home / "state"
    assert _integrity(state / "risk_manager.sqlite3") == "ok"
    assert _integrity(state / "simulator.sqlite3") == "ok"
    return daemon


def _sim_fill_count(daemon: DaemonProcess) -> int:
    path = daemon.home / "state" / "simulator.sqlite3"
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]


def test_kill9_between_breaching_fill_and_enforcement_then_restart_completes_it(supervise):
    supervisor = supervise("max_contracts.limit = 1")
    supervisor.daemon.order("buy", 1)
    paths: list[str] = []

    for crashes, delay in enumerate(SWEEP_MS, start=1):
        breach = {"symbol": "MNQ", "side": "buy", "quantity": 2}
        paths.append(fire_and_kill(supervisor, ORDERS, breach, delay))
        daemon = assert_recovered(supervisor, crashes)
        # However the kill fell, the excess never survives the restart.
        assert broker_positions(daemon) == positions(daemon) == {"MNQ": 1}
        if crashes >= 4 and {"resumed", "reconciled"} & set(paths):
            break  # the window was hit (and the moments around it): enough restarts

    # The loop only proves something if a kill landed inside the fill → enforcement window.
    assert {"resumed", "reconciled"} & set(paths), paths
    assert supervisor.exit_codes == [-signal.SIGKILL] * len(paths)


def test_kill9_mid_flatten_then_restart_finishes_the_flatten(supervise):
    supervisor = supervise("max_contracts.limit = 4\nmax_contracts.close_all = true")
    paths: list[str] = []
    for crashes, delay in enumerate(SWEEP_MS, start=1):
        daemon = supervisor.daemon
        for symbol in ("MNQ", "ES", "NQ", "MES"):
            daemon.order("buy", 1, symbol=symbol)
        daemon.order("buy", 1, symbol="MNQ", type="limit", limit_price=20000.00)
        daemon.order("sell", 1, symbol="ES", type="limit", limit_price=6100.00)
        before = _sim_fill_count(daemon)

        # The fifth contract breaches: a flatten of 5 positions and 2 orders, killed part-way.
        breach = {"symbol": "CL", "side": "buy", "quantity": 1}
        paths.append(fire_and_kill(supervisor, ORDERS, breach, delay))
        daemon = assert_recovered(supervisor, crashes)
        if _sim_fill_count(daemon) == before:  # killed before the order reached the broker
            assert len(broker_positions(daemon)) == 4
            daemon.order("buy", 1, symbol="CL")
        assert broker_positions(daemon) == positions(daemon) == {}
        assert broker_orders(daemon) == []
        if crashes >= 4 and "resumed" in paths:
            break

    # "resumed": the kill came after the flatten was committed and before it was finished.
    assert "resumed" in paths, paths


def test_kill9_while_locked_out_then_lockout_survives_and_still_flattens(supervise):
    supervisor = supervise("daily_realized_loss.limit = 50")
    daemon = supervisor.daemon
    daemon.order("buy", 1)
    daemon.price(20970.00)
    daemon.order("sell", 1)  # -60.74: locked until the daily reset
    locked = [x["id"] for x in daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]]
    assert len(locked) == 1

    for crashes, delay in enumerate((0.0, 1.0, 2.0, 3.0, 10.0), start=1):
        fire_and_kill(supervisor, ORDERS, {"symbol": "MNQ", "side": "buy", "quantity": 3}, delay)
        daemon = assert_recovered(supervisor, crashes)
        assert [x["id"] for x in daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]] == locked
        daemon.order("buy", 1)  # still enforced after the restart
        assert positions(daemon) == broker_positions(daemon) == {}


def test_kill9_around_snapshots_then_state_and_marks_intact(supervise):
    text = MANUAL_CONFIG.replace("snapshot_interval_seconds = 30", "snapshot_interval_seconds = 1")
    supervisor = supervise("", text=text.format(profile=""))
    daemon = supervisor.daemon
    daemon.order("buy", 2)
    daemon.order("sell", 1, symbol="ES")
    database = daemon.home / "state" / "risk_manager.sqlite3"

    def snapshot_at() -> str | None:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'snapshot_at'").fetchone()
        return None if row is None else row[0]

    for crashes, lead_ms in enumerate((1.0, 0.0), start=1):
        daemon.price(20990.00 - crashes)
        # Snapshots come once a second: catch one, then kill just before / at the next one.
        seen = snapshot_at()
        wait_for(lambda seen=seen: snapshot_at() != seen, 3.0, 0.002, what="a snapshot")
        time.sleep(1.0 - lead_ms / 1000)
        supervisor.crash_and_restart()
        daemon = assert_recovered(supervisor, crashes)
        assert positions(daemon) == {"MNQ": 2, "ES": -1}
        # The mark is the last price set, whether it came from the snapshot or a fresh quote.
        view = daemon.get(f"{ACCOUNT}/positions")["positions"]
        mnq = next(p for p in view if p["symbol"] == "MNQ")
        assert mnq["last_price"] == 20990.00 - crashes
        assert mnq["unrealized_pnl"] == (20990.00 - crashes - 21000.00) * 2 * 2
