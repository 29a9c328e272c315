"""Account-value rules end to end: the trailing drawdown floor.

Money facts: MNQ $0.50 a tick ($2 a point); simulator fee $0.37 per MNQ contract per side; the
simulated account starts at $50,000.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.conftest import (
    ACCOUNT,
    balance,
    lockout_of,
    lockouts,
    positions,
    record_of,
    set_clock,
)

DRAWDOWN = "trailing_drawdown.max_loss = 100\ntrailing_drawdown.starting_balance = 50000\n"


def _account_status(daemon) -> dict:
    return next(a for a in daemon.get("/api/v1/status")["accounts"] if a["account_id"] == "SIM-1")


def _breach_floor_with_an_open_loss(daemon) -> dict:
    """buy 2 MNQ at 21000 (balance 49,999.26), then let the open loss reach the 49,900 floor."""
    daemon.order("buy", 2)
    daemon.price(20975.25)  # -99.00 open: value 49,900.26, above the floor
    assert lockouts(daemon) == []
    daemon.price(20975.00)  # -100.00 open: value 49,899.26 ≤ 49,900
    return lockout_of(daemon, "trailing_drawdown")


def test_trailing_drawdown_end_of_day_checks_open_losses_and_permanent_needs_an_admin(
    start_daemon,
):
    daemon = start_daemon(DRAWDOWN)  # end_of_day mode and permanent are the defaults

    lockout = _breach_floor_with_an_open_loss(daemon)

    record = record_of(daemon, "trailing_drawdown")
    assert record["trigger"]["trailing_drawdown"]["equity"] == "49899.26"
    assert record["trigger"]["trailing_drawdown"]["floor"] == "49900"
    assert record["steps"] == [{"kind": "flatten"}]
    assert positions(daemon) == {}
    assert balance(daemon) == 49898.52  # -100 gross, 4 x 0.37
    assert (lockout["ends"], lockout["until"], lockout["state"]) == ("never", None, "halted")
    assert _account_status(daemon)["trading_state"] == "halted"
    daemon.order("buy", 1)
    assert positions(daemon) == {}

    set_clock(daemon, datetime.now().astimezone() + timedelta(days=1, hours=1))  # past a reset

    assert lockout_of(daemon, "trailing_drawdown")["id"] == lockout["id"]
    daemon.order("buy", 1)
    assert positions(daemon) == {}


def test_trailing_drawdown_non_permanent_restarts_from_the_balance_at_the_reset(start_daemon):
    daemon = start_daemon(DRAWDOWN + "trailing_drawdown.permanent = false")
    lockout = _breach_floor_with_an_open_loss(daemon)
    assert (lockout["ends"], lockout["state"]) == ("daily_reset", "halted")
    assert balance(daemon) == 49898.52

    set_clock(daemon, datetime.fromisoformat(lockout["until"]) + timedelta(minutes=1))

    assert lockouts(daemon) == []
    assert daemon.get(f"{ACCOUNT}/lockouts")["trading_state"] == "active"
    # New floor: 49,898.52 - 100 = 49,798.52 (the old 49,900 would lock at once).
    daemon.order("buy", 1)  # at 20975.00, fee 0.37: balance 49,898.15
    assert positions(daemon) == {"MNQ": 1}
    daemon.price(20925.25)  # -99.50 open: value 49,798.65
    assert lockouts(daemon) == []
    daemon.price(20925.00)  # -100.00 open: value 49,798.15 ≤ 49,798.52

    again = lockout_of(daemon, "trailing_drawdown")
    assert again["id"] != lockout["id"]
    latest = next(r for r in daemon.get(f"{ACCOUNT}/enforcement")["records"]
              if "trailing_drawdown" in r["rules"])  # fmt: skip
    assert latest["trigger"]["trailing_drawdown"]["floor"] == "49798.52"
    assert positions(daemon) == {}
