"""Helpers for end-to-end tests: read the daemon's API in the shapes assertions want."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tests.daemon_process import DaemonProcess

ACCOUNT = "/api/v1/accounts/SIM-1"
CHICAGO = ZoneInfo("America/Chicago")
T = TypeVar("T")


def positions(daemon: DaemonProcess) -> dict[str, int]:
    """The daemon's open positions as symbol → signed size."""
    return {p["symbol"]: p["size"] for p in daemon.get(f"{ACCOUNT}/positions")["positions"]}


def working_orders(daemon: DaemonProcess) -> list[dict[str, Any]]:
    """The daemon's view of the account's working orders."""
    return daemon.get(f"{ACCOUNT}/positions")["orders"]


def lockouts(daemon: DaemonProcess) -> list[dict[str, Any]]:
    """Active lockouts of the account."""
    return daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]


def lockout_of(daemon: DaemonProcess, rule: str) -> dict[str, Any]:
    """The one active lockout raised by `rule` (fails if there is not exactly one)."""
    found = [x for x in lockouts(daemon) if x["rule"] == rule]
    assert len(found) == 1, lockouts(daemon)
    return found[0]


def records(daemon: DaemonProcess, limit: int = 100) -> list[dict[str, Any]]:
    """Enforcement records, newest first."""
    return daemon.get(f"{ACCOUNT}/enforcement", params={"limit": limit})["records"]


def records_of(daemon: DaemonProcess, rule: str) -> list[dict[str, Any]]:
    """Enforcement records that name `rule`, newest first."""
    return [r for r in records(daemon) if rule in r["rules"]]


def record_of(daemon: DaemonProcess, rule: str) -> dict[str, Any]:
    """The one enforcement record naming `rule` (fails if there is not exactly one)."""
    found = records_of(daemon, rule)
    assert len(found) == 1, found
    return found[0]


def step_kinds(record: dict[str, Any]) -> list[str]:
    return [step["kind"] for step in record["steps"]]


def pnl(daemon: DaemonProcess) -> dict[str, Any]:
    return daemon.get(f"{ACCOUNT}/pnl")


def balance(daemon: DaemonProcess) -> float:
    return next(a["balance"] for a in daemon.get("/api/v1/accounts") if a["account_id"] == "SIM-1")


def set_clock(daemon: DaemonProcess, instant: datetime) -> None:
    """Move the daemon's clock (also runs the daily reset and the rule tick at once)."""
    daemon.post("/api/v1/sim/clock", {"now": instant.isoformat()})


def next_weekday(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next date (from tomorrow on, Chicago) with that weekday (Mon = 0), at a wall time."""
    day = datetime.now(CHICAGO).date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def daemon_now(daemon: DaemonProcess) -> datetime:
    return datetime.fromisoformat(daemon.get("/api/v1/status")["now"])


def wait_for(
    probe: Callable[[], T], timeout: float = 3.0, interval: float = 0.02, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; return that (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def broker_positions(daemon: DaemonProcess) -> dict[str, int]:
    """What the simulated broker itself holds (its own SQLite file, opened read-only)."""
    with closing(_sim_db(daemon)) as db:
        rows = db.execute(
            "SELECT symbol, size FROM positions WHERE account_id = 'SIM-1' AND size != 0"
        ).fetchall()
    return dict(rows)


def broker_orders(daemon: DaemonProcess) -> list[tuple[str, str, str, float | None]]:
    """The simulator's working orders: (symbol, side, type, stop price), oldest first."""
    with closing(_sim_db(daemon)) as db:
        rows = db.execute(
            "SELECT symbol, side, type, stop_price FROM orders"
            " WHERE account_id = 'SIM-1' AND status = 'working' ORDER BY order_id"
        ).fetchall()
    return [
        (s, "buy" if side > 0 else "sell", kind, None if stop is None else float(stop))
        for s, side, kind, stop in rows
    ]


def _sim_db(daemon: DaemonProcess) -> sqlite3.Connection:
    path = daemon.home / "state" / "simulator.sqlite3"
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
