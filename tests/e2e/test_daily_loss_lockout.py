"""Issue: the risk engine's headline scenario, through the real daemon and simulator."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")


def _wait_flat(daemon, timeout: float = 1.0) -> float:
    """Poll until the account is flat; return how long it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not daemon.get("/api/v1/accounts/SIM-1/positions")["positions"]:
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError("position not flattened in time")


def test_daily_loss_breach_flattens_locks_until_reset_and_survives_kill9(start_daemon) -> None:
    daemon = start_daemon("daily_realized_loss.limit = 100\ncooldown_after_loss.tiers = "
                          "[{loss = 50, minutes = 5}]")  # fmt: skip
    daemon.price(21000.00)
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)

    pnl = daemon.get("/api/v1/accounts/SIM-1/pnl")
    lockouts = daemon.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    records = daemon.get("/api/v1/accounts/SIM-1/enforcement")["records"]

    assert pnl["realized"] == -121.48  # -120 gross, 4 x $0.37 fees
    assert daemon.get("/api/v1/accounts/SIM-1/positions")["positions"] == []
    daily = next(x for x in lockouts if x["rule"] == "daily_realized_loss")
    until = datetime.fromisoformat(daily["until"]).astimezone(CHICAGO)
    assert (until.hour, until.minute) == (17, 0)
    assert 0 < daily["seconds_remaining"] <= 24 * 3600
    assert daily["ends"] == "daily_reset"
    # The cooldown raised by the same losing trade sits beside the daily lockout.
    assert {x["rule"] for x in lockouts} == {"daily_realized_loss", "cooldown_after_loss"}
    breach = next(r for r in records if "daily_realized_loss" in r["rules"])
    assert breach["latency_ms"] is not None
    assert breach["status"] == "done"
    assert daemon.get("/api/v1/health")["accounts"]["SIM-1"]["lockout"] is True

    daemon.order("buy", 1)
    assert _wait_flat(daemon) < 1.0

    daemon.kill9()
    again = start_daemon(home=daemon.home)
    still = again.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    assert [x["id"] for x in still] == [x["id"] for x in lockouts]
    again.order("buy", 1)
    assert _wait_flat(again) < 1.0
    assert again.get("/api/v1/accounts/SIM-1/pnl")["realized"] < -121.48  # the flatten cost fees


def test_daily_reset_ends_the_daily_lockout_only(start_daemon) -> None:
    daemon = start_daemon("daily_realized_loss.limit = 100\nsymbol_blocks.symbols = ['ES']")
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)
    daemon.order("buy", 1, symbol="ES")
    rules = {x["rule"] for x in daemon.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]}
    assert rules == {"daily_realized_loss", "symbol_blocks"}

    status = daemon.get("/api/v1/status")
    daemon.post("/api/v1/sim/clock", {"now": status["next_reset"]})

    remaining = daemon.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    assert [x["rule"] for x in remaining] == ["symbol_blocks"]
    assert daemon.get("/api/v1/accounts/SIM-1/pnl")["realized"] == 0.0
