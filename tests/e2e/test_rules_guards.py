"""Broker-state guards, symbol blocks and trade management end to end."""

from __future__ import annotations

from tests.e2e.conftest import (
    broker_orders,
    broker_positions,
    lockout_of,
    lockouts,
    pnl,
    positions,
    record_of,
    records_of,
    wait_for,
    working_orders,
)

SIM_ACCOUNT = "/api/v1/sim/accounts/SIM-1"


def test_auth_loss_guard_when_can_trade_false_then_critical_lockout_until_restored(
    start_daemon,
):
    daemon = start_daemon("auth_loss_guard = {}")
    daemon.order("buy", 1)

    daemon.post(f"{SIM_ACCOUNT}/can-trade", {"can_trade": False})

    lockout = lockout_of(daemon, "auth_loss_guard")
    record = record_of(daemon, "auth_loss_guard")
    assert lockout["ends"] == "can_trade"
    assert lockout["scope"] == "account"
    assert lockout["until"] is None
    assert lockout["seconds_remaining"] is None
    assert record["steps"] == []  # lockout + alert: the open position is not closed blind
    assert record["trigger"]["auth_loss_guard"]["can_trade"] is False
    assert positions(daemon) == broker_positions(daemon) == {"MNQ": 1}
    log = (daemon.home / "logs" / "enforcement.log").read_text()
    assert any("CRITICAL" in line and "canTrade = false" in line for line in log.splitlines())

    daemon.post(f"{SIM_ACCOUNT}/can-trade", {"can_trade": True})

    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    assert positions(daemon) == {"MNQ": 2}


def test_auth_loss_guard_when_connection_lost_then_alert_only_no_lockout_no_flatten(
    start_daemon,
):
    daemon = start_daemon("auth_loss_guard = {}")
    daemon.order("buy", 1)

    daemon.post("/api/v1/sim/connection", {"connected": False})

    record = record_of(daemon, "auth_loss_guard")
    assert "connection lost" in record["reason"]
    assert record["steps"] == []
    assert lockouts(daemon) == []
    assert positions(daemon) == broker_positions(daemon) == {"MNQ": 1}
    health = daemon.get("/api/v1/health")
    assert health["accounts"]["SIM-1"]["connected"] is False
    assert health["status"] == "degraded"

    daemon.post("/api/v1/sim/connection", {"connected": True})

    assert lockouts(daemon) == []
    assert positions(daemon) == {"MNQ": 1}
    assert daemon.get("/api/v1/health")["accounts"]["SIM-1"]["connected"] is True


def test_auth_loss_guard_when_connection_returns_then_fills_missed_meanwhile_reconciled(
    start_daemon,
):
    daemon = start_daemon("auth_loss_guard = {}\ndaily_realized_loss.limit = 50")
    daemon.order("buy", 1)
    daemon.post("/api/v1/sim/connection", {"connected": False})
    daemon.price(20970.00)
    daemon.order("sell", 1)  # -60 - 0.74 at the broker; the daemon does not see it yet
    daemon.order("buy", 2)

    daemon.post("/api/v1/sim/connection", {"connected": True})

    # SPEC §4 rule 10: on reconnect the daemon reconciles with the broker, so the missed fills
    # are booked and the breach they caused is enforced (the buy is flattened: 4 fills).
    wait_for(lambda: pnl(daemon)["fills"] == 4, timeout=2.0, what="missed fills reconciled")
    assert pnl(daemon)["realized_gross"] == -60.00
    assert lockout_of(daemon, "daily_realized_loss")["ends"] == "daily_reset"
    assert broker_positions(daemon) == {}


def test_symbol_blocks_when_blocked_root_traded_then_closed_and_symbol_locked(start_daemon):
    daemon = start_daemon('symbol_blocks.symbols = ["ES"]')
    daemon.order("buy", 1, symbol="MES")

    daemon.order("buy", 1, symbol="ES")

    lockout = lockout_of(daemon, "symbol_blocks")
    assert positions(daemon) == broker_positions(daemon) == {"MES": 1}
    assert lockout["scope"] == "symbol"
    assert lockout["symbol"] == "ES"
    assert lockout["ends"] == "config_change"
    assert lockout["until"] is None
    assert lockout["state"] == "halted"
    # The working entry order started the lockout; the gate closed the fill that followed.
    closes = [s for r in records_of(daemon, "lockout") for s in r["steps"]]
    assert {"kind": "close", "symbol": "ES"} in closes
    assert all(r["status"] == "done" for r in records_of(daemon, "symbol_blocks"))

    daemon.order("buy", 1, symbol="MES")  # MES is its own root: still allowed
    daemon.order("buy", 1, symbol="ES", type="limit", limit_price=5990.00)
    daemon.order("buy", 1, symbol="MES", type="limit", limit_price=5990.00)

    assert positions(daemon) == {"MES": 2}
    assert [(o[0], o[2]) for o in broker_orders(daemon)] == [("MES", "limit")]
    assert [o["symbol"] for o in working_orders(daemon)] == ["MES"]


def test_trade_management_when_profit_reaches_trigger_then_stop_placed_at_breakeven(
    start_daemon,
):
    daemon = start_daemon("trade_management.breakeven_trigger_ticks = 8")
    daemon.order("buy", 1)
    daemon.price(21001.75)  # 7 ticks
    assert working_orders(daemon) == []

    daemon.price(21002.00)  # 8 ticks

    record = record_of(daemon, "trade_management")
    assert record["steps"] == [{
        "kind": "place_stop", "symbol": "MNQ", "price": "21000.00", "side": -1, "quantity": 1,
    }]  # fmt: skip
    assert broker_orders(daemon) == [("MNQ", "sell", "stop", 21000.0)]
    assert [(o["side"], o["type"], o["stop_price"]) for o in working_orders(daemon)] == [
        ("sell", "stop", 21000.0)
    ]
    daemon.price(21010.00)  # breakeven only: nothing to move
    assert broker_orders(daemon) == [("MNQ", "sell", "stop", 21000.0)]

    daemon.price(21000.00)  # back to entry: the stop takes the trade out flat

    assert positions(daemon) == broker_positions(daemon) == {}
    assert pnl(daemon)["realized"] == -0.74


def test_trade_management_when_trailing_then_stop_moves_only_in_traders_favour(start_daemon):
    daemon = start_daemon(
        "trade_management.trail_activation_ticks = 8\ntrade_management.trail_distance_ticks = 4"
    )
    daemon.order("sell", 1)  # short: its stop is a buy stop above the price
    daemon.price(20998.00)  # 8 ticks in profit: stop 4 ticks above

    placed = broker_orders(daemon)
    order_id = working_orders(daemon)[0]["order_id"]
    daemon.price(20995.00)
    moved = broker_orders(daemon)
    daemon.price(20995.75)  # against the trader: the stop must not follow
    held = broker_orders(daemon)

    assert placed == [("MNQ", "buy", "stop", 20999.0)]
    assert moved == held == [("MNQ", "buy", "stop", 20996.0)]
    assert [o["order_id"] for o in working_orders(daemon)] == [order_id]  # moved, not replaced
    assert [r["steps"][0]["kind"] for r in reversed(records_of(daemon, "trade_management"))] == [
        "place_stop", "move_stop",
    ]  # fmt: skip

    daemon.price(20996.00)  # the trailed stop fills

    assert positions(daemon) == broker_positions(daemon) == {}
    assert pnl(daemon)["realized"] == 7.26  # +4 points x $2, less 2 x 0.37
