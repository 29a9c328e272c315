"""Rule semantics end to end: stop size, a lockout's own fill, per-symbol session overrides.

Money facts: MNQ $2 a point, fee $0.37 per contract per side; CL $10 a tick of 0.01 ($1,000 a
point), fee $1.50 per contract per side; the simulated account starts at $50,000.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.conftest import (
    ACCOUNT,
    balance,
    daemon_now,
    lockout_of,
    lockouts,
    next_weekday,
    pnl,
    positions,
    record_of,
    set_clock,
    working_orders,
)


def test_no_stop_loss_grace_reduces_to_what_the_stops_cover_and_stops_add_up(start_daemon):
    daemon = start_daemon("no_stop_loss_grace.grace_seconds = 1")
    daemon.order("buy", 3)
    daemon.order("sell", 1, type="stop", stop_price=20950.00)
    daemon.order("sell", 1, type="stop", stop_price=20940.00)  # 2 of the 3 covered

    set_clock(daemon, daemon_now(daemon) + timedelta(seconds=5))

    assert positions(daemon) == {"MNQ": 2}
    record = record_of(daemon, "no_stop_loss_grace")
    assert record["steps"] == [{"kind": "reduce", "symbol": "MNQ", "target": 2}]
    trigger = record["trigger"]["no_stop_loss_grace"]
    assert (trigger["size"], trigger["covered"], trigger["uncovered"]) == (3, 2, 1)
    assert len(working_orders(daemon)) == 2  # both stops still protect the rest

    set_clock(daemon, daemon_now(daemon) + timedelta(seconds=5))
    assert positions(daemon) == {"MNQ": 2}  # fully covered now: nothing more to do


def test_losing_reversal_that_starts_a_cooldown_leaves_nothing_open(start_daemon):
    daemon = start_daemon("cooldown_after_loss.tiers = [{ loss = 50, minutes = 5 }]")
    daemon.order("buy", 1)
    daemon.price(20970.00)

    daemon.order("sell", 2)  # closes the long at -60.00 (fee 0.74) and opens a short 1

    assert positions(daemon) == {}
    lockout = lockout_of(daemon, "cooldown_after_loss")
    assert (lockout["state"], lockout["ends"]) == ("reducing", "time")
    record = record_of(daemon, "cooldown_after_loss")
    assert record["rules"] == ["cooldown_after_loss", "lockout"]
    assert record["trigger"]["cooldown_after_loss"]["loss"] == "60.74"
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}, {"kind": "cancel"}]
    # -60 gross; fees: buy 1, sell 2, buy back 1 = 4 x 0.37
    assert pnl(daemon)["realized"] == -61.48
    assert balance(daemon) == 49938.52


SESSIONS = """
[profiles.test.session_block_outside]
timezone = "America/Chicago"
windows = [{ start = "08:30", end = "15:00" }]
overrides = { CL = [{ start = "09:00", end = "12:00" }] }
"""


def test_session_override_breach_locks_only_that_root(start_daemon):
    daemon = start_daemon(SESSIONS)
    wednesday = next_weekday(2, 10)
    set_clock(daemon, wednesday)
    daemon.order("buy", 1)  # MNQ inside the account-wide window
    set_clock(daemon, wednesday.replace(hour=13))

    daemon.order("buy", 1, symbol="CL")  # CL's own window closed at 12:00

    lockout = lockout_of(daemon, "session_block_outside")
    assert (lockout["scope"], lockout["symbol"], lockout["state"]) == ("symbol", "CL", "reducing")
    thursday_cl_open = (wednesday + timedelta(days=1)).replace(hour=9)
    assert datetime.fromisoformat(lockout["until"]) == thursday_cl_open
    assert positions(daemon) == {"MNQ": 1}  # CL undone, MNQ untouched
    states = daemon.get(f"{ACCOUNT}/lockouts")
    assert states["trading_state"] == "active"
    assert states["symbol_states"] == {"CL": "reducing", "MNQ": "active"}
    daemon.order("buy", 1)  # MNQ still inside its window: allowed
    assert positions(daemon) == {"MNQ": 2}

    set_clock(daemon, wednesday.replace(hour=15, minute=0, second=1))  # account session ends

    assert positions(daemon) == {}
    account_lock = [x for x in lockouts(daemon) if x["scope"] == "account"]
    assert [(x["rule"], x["state"]) for x in account_lock] == [
        ("session_block_outside", "reducing")
    ]
