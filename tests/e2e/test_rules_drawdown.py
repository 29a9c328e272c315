"""Account-value rules end to end: trailing drawdown, trailing daily loss, weekly loss.

Money facts: MNQ $0.50 a tick ($2 a point); simulator fee $0.37 per MNQ contract per side; the
simulated account starts at $50,000.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.daemon_process import MANUAL_CONFIG
from tests.e2e.conftest import (
    ACCOUNT,
    balance,
    lockout_of,
    lockouts,
    next_weekday,
    positions,
    record_of,
    records_of,
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


def _no_fee_config(profile: str) -> str:
    return MANUAL_CONFIG.format(profile=profile).replace(
        "test_controls = true", "test_controls = true\nfees = { MNQ = 0 }"
    )


def test_trailing_daily_loss_trails_the_days_peak_and_blocks_until_reset(start_daemon):
    daemon = start_daemon(text=_no_fee_config("trailing_daily_loss.limit = 500"))
    daemon.order("buy", 1)  # 1 MNQ at 21000, no fee: value 50,000, threshold 49,500
    daemon.price(21600.00)  # value 51,200: threshold 50,700
    daemon.price(21350.25)  # value 50,700.50
    assert lockouts(daemon) == []

    daemon.price(21350.00)  # value 50,700.00: reached at equality

    lockout = lockout_of(daemon, "trailing_daily_loss")
    assert (lockout["ends"], lockout["state"]) == ("daily_reset", "halted")
    trigger = record_of(daemon, "trailing_daily_loss")["trigger"]["trailing_daily_loss"]
    assert (trigger["peak"], trigger["threshold"]) == ("51200.00", "50700.00")
    assert positions(daemon) == {}
    assert balance(daemon) == 50700.00


def test_trailing_daily_loss_from_realized_ignores_open_gains(start_daemon):
    profile = 'trailing_daily_loss.limit = 500\ntrailing_daily_loss.trail_from = "realized"'
    daemon = start_daemon(text=_no_fee_config(profile))
    daemon.order("buy", 1)
    daemon.price(21600.00)  # +1,200 open: the threshold stays 49,500
    daemon.price(21350.00)  # value 50,700 (from unrealized this would liquidate)
    assert lockouts(daemon) == []
    daemon.order("sell", 1)  # +700 realized: balance 50,700, threshold 50,200
    assert balance(daemon) == 50700.00
    daemon.order("buy", 1)
    daemon.price(21100.25)  # value 50,200.50
    assert lockouts(daemon) == []

    daemon.price(21100.00)  # value 50,200.00

    trigger = record_of(daemon, "trailing_daily_loss")["trigger"]["trailing_daily_loss"]
    assert (trigger["peak"], trigger["threshold"]) == ("50700.00", "50200.00")
    assert positions(daemon) == {}


def test_trailing_daily_loss_plain_liquidate_restarts_from_the_balance(start_daemon):
    profile = 'trailing_daily_loss.limit = 500\ntrailing_daily_loss.action = "liquidate"'
    daemon = start_daemon(text=_no_fee_config(profile))
    daemon.order("buy", 1)
    daemon.price(20750.00)  # value 49,500: liquidated, no lockout

    assert positions(daemon) == {}
    assert lockouts(daemon) == []
    assert balance(daemon) == 49500.00
    daemon.order("buy", 1)  # trading goes on; the threshold is now 49,000
    daemon.price(20500.25)  # value 49,000.50
    assert positions(daemon) == {"MNQ": 1}
    daemon.price(20500.00)  # value 49,000.00

    assert positions(daemon) == {}
    records = [r for r in daemon.get(f"{ACCOUNT}/enforcement")["records"]
               if "trailing_daily_loss" in r["rules"]]  # fmt: skip
    assert [r["trigger"]["trailing_daily_loss"]["threshold"] for r in records] == [
        "49000.00", "49500.00",
    ]  # fmt: skip


def test_weekly_realized_loss_adds_days_up_and_locks_until_next_week(start_daemon):
    daemon = start_daemon("weekly_realized_loss.limit = 100\ndaily_realized_loss.limit = 100")
    wednesday = next_weekday(2, 10)
    set_clock(daemon, wednesday)
    daemon.order("buy", 1)
    daemon.price(20970.00)
    daemon.order("sell", 1)  # -60 gross, 0.74 fees: -60.74 this week
    set_clock(daemon, wednesday + timedelta(days=1))  # Thursday: a new trading day
    daemon.order("buy", 1)
    daemon.price(20950.00)
    assert lockouts(daemon) == []

    daemon.order("sell", 1)  # -40.74 today (under the daily limit), -101.48 this week

    lockout = lockout_of(daemon, "weekly_realized_loss")
    assert [x["rule"] for x in lockouts(daemon)] == ["weekly_realized_loss"]
    assert (lockout["ends"], lockout["state"]) == ("time", "halted")
    sunday_open = (wednesday + timedelta(days=4)).replace(hour=17)
    assert datetime.fromisoformat(lockout["until"]) == sunday_open
    trigger = record_of(daemon, "weekly_realized_loss")["trigger"]["weekly_realized_loss"]
    assert trigger["realized"] == "-101.48"
    daemon.order("buy", 1)
    assert positions(daemon) == {}

    set_clock(daemon, sunday_open + timedelta(minutes=1))

    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    assert positions(daemon) == {"MNQ": 1}


def _lose(daemon, to_price: float) -> None:
    """buy 1 MNQ at 21000, sell at `to_price` (fees 2 x 0.37), back to 21000."""
    daemon.price(21000.00)
    daemon.order("buy", 1)
    daemon.price(to_price)
    daemon.order("sell", 1)
    daemon.price(21000.00)


def test_weekly_realized_loss_week_turns_at_sunday_17_chicago(start_daemon):
    daemon = start_daemon("weekly_realized_loss.limit = 100")
    friday = next_weekday(4, 10)
    sunday_open = (friday + timedelta(days=2)).replace(hour=17)
    set_clock(daemon, friday)
    _lose(daemon, 20970.00)  # -60.74 this week

    set_clock(daemon, sunday_open - timedelta(minutes=1))  # Sunday 16:59: still Friday's week
    _lose(daemon, 20980.00)  # -40.74: -101.48 this week

    lockout = lockout_of(daemon, "weekly_realized_loss")
    assert datetime.fromisoformat(lockout["until"]) == sunday_open

    set_clock(daemon, sunday_open + timedelta(minutes=1))
    assert lockouts(daemon) == []
    _lose(daemon, 20970.00)  # -60.74 in the new week (-162.22 if the weeks ran together)
    assert lockouts(daemon) == []
    _lose(daemon, 20980.00)  # -101.48 in the new week

    trigger = records_of(daemon, "weekly_realized_loss")[0]["trigger"]["weekly_realized_loss"]
    assert trigger["realized"] == "-101.48"
    assert datetime.fromisoformat(trigger["week_start"]) == sunday_open
    next_open = datetime.fromisoformat(lockout_of(daemon, "weekly_realized_loss")["until"])
    assert next_open == sunday_open + timedelta(days=7)
