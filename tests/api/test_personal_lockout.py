"""The trader's personal lockout through the real daemon: flatten, halt, only ever extended."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import (
    ACCOUNT,
    ADMIN,
    StartAdmin,
    active_lockouts,
    call,
    error_code,
    login,
)
from tests.cli.conftest import run_cli
from tests.daemon_process import DaemonProcess

LOCK = "/api/v1/trader/lock"


def _positions(daemon: DaemonProcess) -> dict:
    return daemon.get(f"{ACCOUNT}/positions")


def _minutes_left(lockout: dict) -> float:
    return lockout["seconds_remaining"] / 60


def test_lock_flattens_cancels_halts_and_can_only_be_extended(start_admin: StartAdmin) -> None:
    daemon = start_admin()
    daemon.order("buy", 2)
    daemon.order("buy", 1, type="limit", limit_price=20000.00)

    first = daemon.post(LOCK, {"minutes": 120})["locks"][0]

    assert first["applied"] is True
    lockout = first["lockout"]
    assert (lockout["rule"], lockout["state"], lockout["ends"]) == (
        "personal_lockout", "halted", "time",
    )  # fmt: skip
    assert 119 < _minutes_left(lockout) <= 120
    held = _positions(daemon)
    assert (held["positions"], held["orders"]) == ([], [])
    assert daemon.get(f"{ACCOUNT}/lockouts")["trading_state"] == "halted"
    daemon.order("buy", 1)
    assert _positions(daemon)["positions"] == []  # halted: a new entry is closed at once

    shorter = daemon.post(LOCK, {"minutes": 30})["locks"][0]
    assert shorter["applied"] is False
    assert shorter["lockout"]["id"] == lockout["id"]
    assert shorter["lockout"]["until"] == lockout["until"]

    longer = daemon.post(LOCK, {"minutes": 180})["locks"][0]
    assert longer["applied"] is True
    assert 179 < _minutes_left(longer["lockout"]) <= 180
    assert [x["id"] for x in active_lockouts(daemon)] == [longer["lockout"]["id"]]

    # The trader API has no way to lift it; only the admin can, where allowed.
    schema = call(daemon, "GET", "/openapi.json").json()
    trader_routes = {p for p in schema["paths"] if "/trader/" in p}
    assert trader_routes == {
        "/api/v1/trader/clock-in", "/api/v1/trader/clock-out", "/api/v1/trader/sessions", LOCK,
    }  # fmt: skip
    unlocked = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", login(daemon))
    assert unlocked.status_code == 200, unlocked.text
    assert active_lockouts(daemon) == []
    daemon.order("buy", 1)
    assert [p["size"] for p in _positions(daemon)["positions"]] == [1]


def test_lock_requests_are_validated(start_admin: StartAdmin) -> None:
    daemon = start_admin()
    past = (datetime.now().astimezone() - timedelta(minutes=5)).isoformat()
    far = (datetime.now().astimezone() + timedelta(days=8)).isoformat()
    cases = [
        ({"minutes": 10, "rest_of_day": True}, 422, "invalid_lock"),
        ({}, 422, "invalid_lock"),
        ({"until": past}, 422, "invalid_lock"),
        ({"until": far}, 422, "invalid_lock"),
        ({"minutes": True}, 422, "validation_error"),
        ({"minutes": 60, "account_id": "NOPE"}, 404, "account_not_found"),
    ]
    for body, status, code in cases:
        response = call(daemon, "POST", LOCK, json=body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert active_lockouts(daemon) == []

    rest = daemon.post(LOCK, {"rest_of_day": True})["locks"][0]["lockout"]
    assert (rest["ends"], rest["state"]) == ("daily_reset", "halted")


def test_cli_lock_for_and_until(start_admin: StartAdmin) -> None:
    daemon = start_admin()

    locked = run_cli("trader", "lock", "--for", "1h30m", "--json", home=daemon.home)

    assert locked.code == 0, locked.stderr
    (item,) = locked.json()["locks"]
    assert 89 < _minutes_left(item["lockout"]) <= 90
    later = (datetime.now().astimezone() + timedelta(hours=3)).isoformat(timespec="minutes")
    extended = run_cli("trader", "lock", "--until", later, home=daemon.home)
    assert extended.code == 0, extended.stderr
    assert "locked until" in extended.stdout
    assert 170 < _minutes_left(active_lockouts(daemon)[0]) <= 180
    both = run_cli("trader", "lock", "--for", "2h", "--rest-of-day", home=daemon.home)
    assert both.code == 2
    assert "exactly one" in both.stderr


def test_admin_unlock_of_a_permanent_drawdown_lets_trading_restart_from_there(
    start_admin: StartAdmin,
) -> None:
    daemon = start_admin(
        "trailing_drawdown.max_loss = 100\ntrailing_drawdown.starting_balance = 50000"
    )
    daemon.order("buy", 2)
    daemon.price(20975.00)  # -100 open, 0.74 fees: value 49,899.26 ≤ 49,900
    assert [x["ends"] for x in active_lockouts(daemon)] == ["never"]

    unlocked = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", login(daemon))

    assert unlocked.status_code == 200, unlocked.text
    # Flat at 49,898.52; the floor starts over from the value at the next evaluation:
    # buy 1 (fee 0.37) → 49,898.15, floor 49,798.15.
    daemon.order("buy", 1)
    daemon.price(20925.25)  # -99.50 open: 49,798.65
    assert active_lockouts(daemon) == []
    assert [p["size"] for p in _positions(daemon)["positions"]] == [1]
    daemon.price(20925.00)  # -100.00 open: 49,798.15
    assert [x["rule"] for x in active_lockouts(daemon)] == ["trailing_drawdown"]
