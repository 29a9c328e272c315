"""Size and money rules end to end: real daemon, simulated broker, assertions via the read API.

Money facts used below: MNQ $0.50 a tick ($2 a point), ES $12.50 a tick ($50 a point); simulator
fees per contract per side: MNQ $0.37, ES and NQ $1.40.
"""

from __future__ import annotations

from datetime import datetime

from tests.e2e.conftest import (
    CHICAGO,
    balance,
    lockout_of,
    lockouts,
    pnl,
    positions,
    record_of,
    records,
    step_kinds,
)


def _ends_at_daily_reset(lockout: dict) -> None:
    assert lockout["scope"] == "account"
    assert lockout["ends"] == "daily_reset"
    until = datetime.fromisoformat(lockout["until"]).astimezone(CHICAGO)
    assert (until.hour, until.minute) == (17, 0)
    assert 0 < lockout["seconds_remaining"] <= 24 * 3600


def test_max_contracts_when_gross_exceeds_limit_then_reduces_newest_to_limit(start_daemon):
    daemon = start_daemon("max_contracts.limit = 3\nmax_contracts.lockout_minutes = 5")
    daemon.order("buy", 2, symbol="ES")
    daemon.order("buy", 2)  # MNQ is the newest exposure: 4 > 3

    record = record_of(daemon, "max_contracts")
    lockout = lockout_of(daemon, "max_contracts")

    # The breach starts a lockout, and a lockout undoes what its triggering fill opened: the
    # whole new MNQ position goes, not only the contract over the limit.
    assert positions(daemon) == {"ES": 2}
    assert record["status"] == "done"
    assert record["trigger"]["max_contracts"] == {"gross": 4, "limit": 3, "symbol": "MNQ"}
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}, {"kind": "cancel"}]
    assert next((r["ok"], r["raw"]["status"]) for r in record["responses"]) == (True, "filled")
    assert 0 <= record["first_action_ms"] <= record["latency_ms"]
    assert lockout["ends"] == "time"
    assert lockout["scope"] == "account"
    assert lockout["state"] == "reducing"
    assert 290 < lockout["seconds_remaining"] <= 300
    assert pnl(daemon)["fees"] == 4.28  # ES 2 x 1.40 + MNQ 4 x 0.37


def test_max_contracts_when_close_all_then_flattens_without_lockout(start_daemon):
    daemon = start_daemon("max_contracts.limit = 2\nmax_contracts.close_all = true")
    daemon.order("buy", 2)
    assert positions(daemon) == {"MNQ": 2}

    daemon.order("sell", 1, symbol="ES")  # short ES: gross 3 > 2

    assert positions(daemon) == {}
    assert step_kinds(record_of(daemon, "max_contracts")) == ["flatten"]
    assert lockouts(daemon) == []


def test_max_contracts_per_instrument_when_root_exceeds_limit_then_reduces_excess(start_daemon):
    daemon = start_daemon(
        "max_contracts_per_instrument.limits = { MNQ = 2 }\n"
        "max_contracts_per_instrument.default_limit = 1"
    )
    daemon.order("buy", 5)
    daemon.order("sell", 3, symbol="ES")

    found = [r for r in records(daemon) if "max_contracts_per_instrument" in r["rules"]]

    assert positions(daemon) == {"MNQ": 2, "ES": -1}
    assert [r["steps"] for r in reversed(found)] == [
        [{"kind": "reduce", "symbol": "MNQ", "target": 2}],
        [{"kind": "reduce", "symbol": "ES", "target": 1}],
    ]
    assert all(r["status"] == "done" for r in found)
    assert lockouts(daemon) == []


def test_daily_realized_loss_when_unrealized_included_then_open_loss_counts(start_daemon):
    daemon = start_daemon(
        "daily_realized_loss.limit = 100\ndaily_realized_loss.include_unrealized = true"
    )
    daemon.order("buy", 1)
    daemon.price(20990.00)
    daemon.order("sell", 1)  # realized -20 - 0.74 fees
    daemon.order("buy", 2)  # realized net now -21.48 (entry fees count)
    daemon.price(20970.50)  # unrealized -78: total -99.48, not yet
    assert positions(daemon) == {"MNQ": 2}
    assert lockouts(daemon) == []

    daemon.price(20970.25)  # unrealized -79: total -100.48 ≤ -100

    record = record_of(daemon, "daily_realized_loss")
    assert positions(daemon) == {}
    assert record["trigger"]["daily_realized_loss"] == {
        "realized": "-21.48", "unrealized": "-79.00", "limit": "100",
    }  # fmt: skip
    assert step_kinds(record) == ["flatten"]
    assert record["status"] == "done"
    _ends_at_daily_reset(lockout_of(daemon, "daily_realized_loss"))
    assert pnl(daemon)["realized"] == -101.22  # -99 gross, 6 contract-sides x 0.37


def test_daily_unrealized_loss_when_position_scope_then_closes_only_that_position(start_daemon):
    daemon = start_daemon("daily_unrealized_loss.limit = 50")
    daemon.order("buy", 2)
    daemon.order("buy", 1, symbol="ES")
    daemon.price(20987.50)  # MNQ -50.00 exactly: the limit is reached

    record = record_of(daemon, "daily_unrealized_loss")

    assert positions(daemon) == {"ES": 1}
    assert record["trigger"]["daily_unrealized_loss"]["unrealized"] == "-50.00"
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}]
    assert lockouts(daemon) == []
    assert pnl(daemon)["realized_gross"] == -50.00


def test_daily_unrealized_loss_when_total_scope_then_flattens_and_locks(start_daemon):
    daemon = start_daemon(
        'daily_unrealized_loss.limit = 50\ndaily_unrealized_loss.scope = "total"\n'
        "daily_unrealized_loss.lockout = true"
    )
    daemon.order("buy", 1)
    daemon.order("buy", 1, symbol="ES")
    daemon.price(20990.00)  # MNQ -20
    daemon.price(5999.50, symbol="ES")  # ES -25: total -45, below the limit
    assert positions(daemon) == {"MNQ": 1, "ES": 1}

    daemon.price(5999.25, symbol="ES")  # ES -37.50: total -57.50

    record = record_of(daemon, "daily_unrealized_loss")
    assert positions(daemon) == {}
    assert record["trigger"]["daily_unrealized_loss"]["unrealized"] == "-57.50"
    assert step_kinds(record) == ["flatten"]
    _ends_at_daily_reset(lockout_of(daemon, "daily_unrealized_loss"))
    daemon.order("buy", 1)
    assert positions(daemon) == {}  # locked: a new entry is closed at once


def test_max_unrealized_profit_when_target_reached_then_closes_and_banks_it(start_daemon):
    daemon = start_daemon("max_unrealized_profit.target = 100")
    daemon.order("buy", 2)
    daemon.price(21024.75)  # +99
    assert positions(daemon) == {"MNQ": 2}

    daemon.price(21025.00)  # +100

    record = record_of(daemon, "max_unrealized_profit")
    assert positions(daemon) == {}
    assert record["steps"] == [{"kind": "close", "symbol": "MNQ"}]
    assert record["trigger"]["max_unrealized_profit"]["unrealized"] == "100.00"
    assert pnl(daemon)["realized"] == 98.52  # +100 gross, 4 x 0.37
    assert lockouts(daemon) == []


def test_daily_realized_profit_when_target_reached_then_flattens_and_locks(start_daemon):
    daemon = start_daemon("daily_realized_profit.target = 50")
    daemon.order("buy", 1, symbol="NQ")
    daemon.order("buy", 2)
    daemon.price(21013.00)
    daemon.order("sell", 2)  # +52 gross - 1.48 MNQ fees - 1.40 NQ entry fee = 49.12: not yet
    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    daemon.price(21014.00)
    daemon.order("sell", 1)  # +2 - 0.74 = +1.26 more: 50.38 ≥ 50, and NQ is still open

    record = record_of(daemon, "daily_realized_profit")
    assert positions(daemon) == {}  # the NQ position went too
    assert step_kinds(record) == ["flatten"]
    assert record["trigger"]["daily_realized_profit"] == {"realized": "50.38", "target": "50"}
    _ends_at_daily_reset(lockout_of(daemon, "daily_realized_profit"))
    assert pnl(daemon)["realized"] == 48.98  # NQ closed flat at 21000: its 1.40 exit fee
    daemon.order("buy", 1)
    assert positions(daemon) == {}


def test_trailing_drawdown_when_intraday_equity_hits_trailed_floor_then_flattens(start_daemon):
    daemon = start_daemon(
        "trailing_drawdown.max_loss = 100\ntrailing_drawdown.starting_balance = 50000\n"
        'trailing_drawdown.mode = "intraday"\ntrailing_drawdown.permanent = false'
    )
    daemon.order("buy", 2)  # balance 49999.26
    daemon.price(21020.00)  # equity 50079.26: the new high-water mark, floor 49979.26
    daemon.price(20995.25)  # equity 49980.26: above the floor
    assert positions(daemon) == {"MNQ": 2}

    daemon.price(20995.00)  # equity 49979.26: at the floor

    record = record_of(daemon, "trailing_drawdown")
    assert positions(daemon) == {}
    assert record["trigger"]["trailing_drawdown"] == {
        "balance": "49999.26", "equity": "49979.26", "high_water": "50079.26",
        "floor": "49979.26", "max_loss": "100",
    }  # fmt: skip
    assert step_kinds(record) == ["flatten"]
    _ends_at_daily_reset(lockout_of(daemon, "trailing_drawdown"))
    assert balance(daemon) == 49978.52  # -20 gross, 4 x 0.37
