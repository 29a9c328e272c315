"""What changes at the broker while the link is down is caught up on reconnect."""

from __future__ import annotations

from tests.e2e.conftest import lockouts, positions, wait_for

GUARD = "auth_loss_guard = {}\ndaily_realized_loss.limit = 100"


def test_can_trade_restored_during_an_outage_ends_the_lockout_on_reconnect(start_daemon) -> None:
    daemon = start_daemon(GUARD)
    daemon.post("/api/v1/sim/accounts/SIM-1/can-trade", {"can_trade": False})
    assert [x["rule"] for x in lockouts(daemon)] == ["auth_loss_guard"]

    daemon.post("/api/v1/sim/connection", {"connected": False})
    daemon.post("/api/v1/sim/accounts/SIM-1/can-trade", {"can_trade": True})
    daemon.post("/api/v1/sim/connection", {"connected": True})

    assert lockouts(daemon) == []
    daemon.order("buy", 1)
    assert positions(daemon) == {"MNQ": 1}  # trading stands again


def test_can_trade_lost_during_an_outage_locks_on_reconnect(start_daemon) -> None:
    daemon = start_daemon(GUARD)
    daemon.post("/api/v1/sim/connection", {"connected": False})
    daemon.post("/api/v1/sim/accounts/SIM-1/can-trade", {"can_trade": False})
    daemon.post("/api/v1/sim/connection", {"connected": True})

    locks = lockouts(daemon)
    assert [(x["rule"], x["ends"]) for x in locks] == [("auth_loss_guard", "can_trade")]


def test_losing_round_trip_during_an_outage_is_enforced_on_reconnect(start_daemon) -> None:
    daemon = start_daemon(GUARD)
    daemon.post("/api/v1/sim/connection", {"connected": False})
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)
    daemon.order("buy", 1)  # a new entry after the breach, still unseen by the daemon
    daemon.post("/api/v1/sim/connection", {"connected": True})

    assert [x["rule"] for x in lockouts(daemon)] == ["daily_realized_loss"]
    wait_for(lambda: positions(daemon) == {}, what="the late entry to be flattened")
