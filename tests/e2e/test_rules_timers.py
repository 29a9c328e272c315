"""Time-driven rules end to end: frequency, cooldowns, stop grace and sessions.

The sim clock route moves the daemon's clock and runs the once-a-second tick at once, so timer
expiry is tested without waiting; one grace test waits for the real tick on purpose.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from tests.e2e.conftest import (
    daemon_now,
    lockout_of,
    lockouts,
    next_weekday,
    positions,
    record_of,
    records_of,
    set_clock,
    wait_for,
    working_orders,
)

SESSION = (
    'session_block_outside.timezone = "America/Chicago"\n'
    'session_block_outside.windows = [{ start = "08:30", end = "15:00" }]'
)


def test_trade_frequency_limit_when_third_entry_in_a_minute_then_closed_and_cooldown(
    start_daemon,
):
    daemon = start_daemon("trade_frequency_limit.per_minute = 2")
    for _ in range(2):
        daemon.order("buy", 1)
        daemon.order("sell", 1)  # exits are not entries
    assert lockouts(daemon) == []

    daemon.order("buy", 1)

    lockout = lockout_of(daemon, "trade_frequency_limit")
    record = record_of(daemon, "trade_frequency_limit")
    assert positions(daemon) == {}
    # The gate undoes the breaching fill's own exposure, as for a fill during the cooldown.
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}, {"kind": "cancel"}]
    assert record["rules"] == ["trade_frequency_limit", "lockout"]
    assert record["trigger"]["trade_frequency_limit"]["per_minute"] == {"entries": 3, "limit": 2}
    assert record["status"] == "done"
    assert lockout["ends"] == "time"
    assert lockout["scope"] == "account"
    assert 55 < lockout["seconds_remaining"] <= 60

    daemon.order("buy", 1, symbol="ES")  # during the cooldown: flattened by the lockout gate
    assert positions(daemon) == {}
    assert records_of(daemon, "lockout")[0]["steps"][0] == {"kind": "close", "symbol": "ES"}

    set_clock(daemon, daemon_now(daemon) + timedelta(seconds=61))
    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    assert positions(daemon) == {"MNQ": 1}


def test_cooldown_after_loss_when_tiers_reached_then_worst_applies_and_never_shortens(
    start_daemon,
):
    daemon = start_daemon(
        "cooldown_after_loss.tiers = [{ loss = 50, minutes = 5 }, { loss = 100, minutes = 15 }]"
    )
    daemon.order("buy", 1, symbol="ES")
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)  # -120 gross, 0.74 closing fee: a 120.74 loss reaches both tiers

    first = lockout_of(daemon, "cooldown_after_loss")
    record = record_of(daemon, "cooldown_after_loss")
    assert record["trigger"]["cooldown_after_loss"] == {
        "symbol": "MNQ", "loss": "120.74", "tier_loss": "100", "minutes": 15,
    }  # fmt: skip
    assert record["steps"] == []  # a cooldown, not a broker action
    assert first["ends"] == "time"
    assert 890 < first["seconds_remaining"] <= 900
    assert positions(daemon) == {"ES": 1}  # nothing was closed

    daemon.price(5998.75, symbol="ES")
    daemon.order("sell", 1, symbol="ES")  # -62.50 - 1.40: the 5-minute tier only

    assert positions(daemon) == {}
    again = lockout_of(daemon, "cooldown_after_loss")
    assert again["id"] == first["id"]
    assert again["seconds_remaining"] > 880
    # The longer cooldown already covers this one: nothing new to record.
    assert len(records_of(daemon, "cooldown_after_loss")) == 1


def test_cooldown_after_loss_when_raised_on_top_of_daily_lockout_then_both_stand(start_daemon):
    daemon = start_daemon(
        "daily_realized_loss.limit = 100\ndaily_realized_loss.include_unrealized = true\n"
        "cooldown_after_loss.tiers = [{ loss = 50, minutes = 5 }]"
    )
    set_clock(daemon, next_weekday(1, 10))  # mid-morning: far from the 17:00 reset
    daemon.order("buy", 2)
    daemon.price(20975.00)  # -100 open, -0.74 fees: daily limit → flatten; that exit loses 100.74

    daily = lockout_of(daemon, "daily_realized_loss")
    cooldown = lockout_of(daemon, "cooldown_after_loss")
    assert positions(daemon) == {}
    assert daily["ends"] == "daily_reset"
    assert cooldown["ends"] == "time"
    assert 290 < cooldown["seconds_remaining"] <= 300

    set_clock(daemon, daemon_now(daemon) + timedelta(minutes=6))

    assert [x["id"] for x in lockouts(daemon)] == [daily["id"]]  # only the cooldown ended
    daemon.order("buy", 1)
    assert positions(daemon) == {}


def test_no_stop_loss_grace_when_no_stop_within_grace_then_closed_after_a_second_or_two(
    start_daemon,
):
    daemon = start_daemon("no_stop_loss_grace.grace_seconds = 1")
    daemon.order("buy", 1)
    opened = time.monotonic()

    wait_for(lambda: positions(daemon) == {}, timeout=3.5, what="the unprotected close")
    waited = time.monotonic() - opened

    assert 1.0 <= waited < 2.8  # past the 1 s grace, at the next once-a-second tick
    record = record_of(daemon, "no_stop_loss_grace")
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}]
    assert record["trigger"]["no_stop_loss_grace"]["grace_seconds"] == 1
    assert record["status"] == "done"
    assert lockouts(daemon) == []


def test_no_stop_loss_grace_when_protective_stop_works_then_only_unprotected_close(
    start_daemon,
):
    daemon = start_daemon("no_stop_loss_grace.grace_seconds = 1")
    daemon.order("buy", 1)
    daemon.order("sell", 1, type="stop", stop_price=20950.00)  # protects the MNQ long
    daemon.order("buy", 1, symbol="ES")
    daemon.order("buy", 1, symbol="ES", type="stop", stop_price=6010.00)  # wrong side
    daemon.order("sell", 1, symbol="NQ")

    set_clock(daemon, daemon_now(daemon) + timedelta(seconds=5))

    assert positions(daemon) == {"MNQ": 1}
    assert [(o["symbol"], o["side"], o["type"]) for o in working_orders(daemon)] == [
        ("MNQ", "sell", "stop")
    ]
    record = record_of(daemon, "no_stop_loss_grace")  # one tick, one batch, both positions
    assert record["steps"] == [
        {"kind": "close", "symbol": "ES"}, {"kind": "close", "symbol": "NQ"},
    ]  # fmt: skip
    # Each breach keeps its own trigger values in the record.
    triggers = record["trigger"]["no_stop_loss_grace"]
    assert [(t["symbol"], t["size"]) for t in triggers] == [("ES", 1), ("NQ", -1)]

    set_clock(daemon, daemon_now(daemon) + timedelta(seconds=5))
    assert positions(daemon) == {"MNQ": 1}


def test_session_block_outside_when_fill_outside_window_then_closed_until_next_session(
    start_daemon,
):
    daemon = start_daemon(SESSION)
    tuesday_evening = next_weekday(1, 16)
    wednesday_open = tuesday_evening.replace(hour=8, minute=30) + timedelta(days=1)
    set_clock(daemon, tuesday_evening)

    daemon.order("buy", 1)

    lockout = lockout_of(daemon, "session_block_outside")
    record = record_of(daemon, "session_block_outside")
    assert positions(daemon) == {}
    # The entry's own lockout undoes it through the gate: close it, cancel the account's orders.
    assert record["rules"] == ["session_block_outside", "lockout"]
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}, {"kind": "cancel"}]
    assert lockout["ends"] == "next_session"
    assert datetime.fromisoformat(lockout["until"]) == wednesday_open
    assert abs(lockout["seconds_remaining"] - 16.5 * 3600) < 5
    daemon.order("buy", 1, symbol="ES")
    assert positions(daemon) == {}

    set_clock(daemon, wednesday_open + timedelta(minutes=1))

    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    assert positions(daemon) == {"MNQ": 1}


def test_session_block_outside_when_session_ends_with_position_then_flattened(start_daemon):
    daemon = start_daemon(SESSION)
    wednesday = next_weekday(2, 14, 59)
    set_clock(daemon, wednesday)
    daemon.order("buy", 2)
    assert positions(daemon) == {"MNQ": 2}

    set_clock(daemon, wednesday + timedelta(minutes=1, seconds=1))

    lockout = lockout_of(daemon, "session_block_outside")
    assert positions(daemon) == {}
    assert record_of(daemon, "session_block_outside")["steps"] == [
        {"kind": "close", "symbol": "MNQ"}
    ]
    thursday_open = wednesday.replace(hour=8, minute=30) + timedelta(days=1)
    assert datetime.fromisoformat(lockout["until"]) == thursday_open
