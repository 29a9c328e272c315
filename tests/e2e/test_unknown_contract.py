"""A contract the daemon cannot price never stops it: that account is halted, others go on."""

from __future__ import annotations

from tests.daemon_process import MANUAL_CONFIG, DaemonProcess

FOREIGN = "/api/v1/sim/accounts/SIM-1/foreign-event"
TWO_ACCOUNTS = MANUAL_CONFIG.format(profile="daily_realized_loss.limit = 100").replace(
    "[profiles.test]", '[accounts.SIM-2]\nname = "Second"\nprofile = "test"\n\n[profiles.test]'
)


def _status(daemon: DaemonProcess) -> dict[str, dict]:
    return {a["account_id"]: a for a in daemon.get("/api/v1/status")["accounts"]}


def _lockouts(daemon: DaemonProcess, account: str) -> list[dict]:
    return daemon.get(f"/api/v1/accounts/{account}/lockouts")["lockouts"]


def _sizes(daemon: DaemonProcess, account: str) -> dict[str, int]:
    held = daemon.get(f"/api/v1/accounts/{account}/positions")["positions"]
    return {p["symbol"]: p["size"] for p in held}


def test_unknown_contract_halts_only_that_account_and_survives_a_restart(start_daemon):
    daemon = start_daemon(text=TWO_ACCOUNTS)
    daemon.order("buy", 1)
    daemon.order("buy", 1, account="SIM-2")

    daemon.post(FOREIGN, {"kind": "fill", "event_id": "foreign-1", "symbol": "ZZZ9"})

    (lockout,) = _lockouts(daemon, "SIM-1")
    assert (lockout["rule"], lockout["reason"]) == ("unknown_contract", "unknown contract")
    assert (lockout["state"], lockout["ends"]) == ("halted", "never")
    assert _sizes(daemon, "SIM-1") == {}  # what could be priced was flattened
    status = _status(daemon)
    assert status["SIM-1"]["trading_state"] == "halted"
    assert status["SIM-2"]["trading_state"] == "active"
    listed = {a["account_id"]: a["trading_state"] for a in daemon.get("/api/v1/accounts")}
    assert listed == {"SIM-1": "halted", "SIM-2": "active"}
    log = (daemon.home / "logs" / "enforcement.log").read_text()
    assert any("CRITICAL" in line and "unknown contract ZZZ9" in line for line in log.splitlines())

    # An order and a quote for it, and a replay of the fill: still up, nothing doubled.
    daemon.post(FOREIGN, {"kind": "order", "event_id": "foreign-2", "symbol": "ZZZ9"})
    daemon.post(FOREIGN, {"kind": "quote", "event_id": "q", "symbol": "ZZZ9", "price": 5})
    daemon.post(FOREIGN, {"kind": "fill", "event_id": "foreign-1", "symbol": "ZZZ9"})
    assert len(_lockouts(daemon, "SIM-1")) == 1

    # The other account is still enforced: 60 points x $2 = -120, fees 0.74: -120.74 ≤ -100.
    daemon.price(20940.00)
    daemon.order("sell", 1, account="SIM-2")
    assert [x["rule"] for x in _lockouts(daemon, "SIM-2")] == ["daily_realized_loss"]
    assert _sizes(daemon, "SIM-2") == {}

    daemon.kill9()
    again = start_daemon(home=daemon.home)

    assert [x["id"] for x in _lockouts(again, "SIM-1")] == [lockout["id"]]
    again.post(FOREIGN, {"kind": "fill", "event_id": "foreign-1", "symbol": "ZZZ9"})
    assert again.proc is not None
    assert again.proc.poll() is None  # still running
    assert _status(again)["SIM-1"]["trading_state"] == "halted"
    again.order("buy", 1)
    assert _sizes(again, "SIM-1") == {}  # halted: closed at once
