"""Admin actions: unlock, flatten, forced daily reset, stop; each leaves an audit record."""

from __future__ import annotations

from tests.api.conftest import (
    ACCOUNT,
    ADMIN,
    LOSS_PROFILE,
    StartAdmin,
    active_lockouts,
    call,
    error_code,
    login,
    lose_past_daily_limit,
)
from tests.daemon_process import DaemonProcess


def test_unlock_ends_the_daily_loss_lockout_and_is_audited(daemon: DaemonProcess) -> None:
    lose_past_daily_limit(daemon)
    locked = [x for x in active_lockouts(daemon) if x["rule"] == "daily_realized_loss"]
    assert len(locked) == 1

    response = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", login(daemon),
                    json={"lockout_id": locked[0]["id"]})  # fmt: skip

    assert response.status_code == 200, response.text
    assert [x["id"] for x in response.json()["data"]["ended"]] == [locked[0]["id"]]
    assert active_lockouts(daemon) == []
    audit = daemon.get(f"{ACCOUNT}/enforcement")["records"][0]
    assert audit["rule"] == "admin"
    assert audit["reason"] == "admin unlock"
    assert audit["trigger"]["admin"] == {"ended": [locked[0]["id"]]}


def test_unlock_without_body_ends_every_lockout(daemon: DaemonProcess) -> None:
    lose_past_daily_limit(daemon)

    response = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", login(daemon))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["ended"]
    assert active_lockouts(daemon) == []


def test_unlock_of_unknown_lockout_or_account_is_404(daemon: DaemonProcess) -> None:
    headers = login(daemon)

    no_lockout = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", headers,
                      json={"lockout_id": 999})  # fmt: skip
    no_account = call(daemon, "POST", f"{ADMIN}/accounts/NOPE/unlock", headers)

    assert (no_lockout.status_code, error_code(no_lockout)) == (404, "lockout_not_found")
    assert (no_account.status_code, error_code(no_account)) == (404, "account_not_found")


def test_allow_admin_unlock_only_changes_with_a_restart(start_admin: StartAdmin) -> None:
    daemon = start_admin(LOSS_PROFILE)
    path = daemon.home / "config" / "risk_manager.toml"
    path.write_text(path.read_text().replace("[daemon]", "[daemon]\nallow_admin_unlock = false"))
    headers = login(daemon)

    reload = call(daemon, "POST", f"{ADMIN}/config/reload", headers).json()["data"]

    # Live, switching it back on and unlocking at once would make the setting meaningless.
    assert "daemon.allow_admin_unlock" in reload["restart_required"]
    assert "daemon.allow_admin_unlock" not in reload["applied"]


def test_unlock_refused_from_the_start_with_allow_admin_unlock_false(
    start_admin: StartAdmin,
) -> None:
    daemon = start_admin(LOSS_PROFILE)
    daemon.stop()
    path = daemon.home / "config" / "risk_manager.toml"
    path.write_text(path.read_text().replace("[daemon]", "[daemon]\nallow_admin_unlock = false"))
    daemon = start_admin()
    lose_past_daily_limit(daemon)
    headers = login(daemon)

    response = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/unlock", headers)
    reset = call(daemon, "POST", f"{ADMIN}/reset-day", headers)

    assert response.status_code == 403
    assert error_code(response) == "admin_unlock_disabled"
    # A forced reset would end the daily lockout too: refused the same way.
    assert (reset.status_code, error_code(reset)) == (403, "admin_unlock_disabled")
    assert active_lockouts(daemon)
    reasons = [r["reason"] for r in daemon.get(f"{ACCOUNT}/enforcement")["records"][:2]]
    assert reasons == ["admin reset-day refused", "admin unlock refused"]


def test_flatten_closes_positions_and_returns_what_is_left(daemon: DaemonProcess) -> None:
    daemon.order("buy", 1)
    daemon.order("buy", 1, symbol="ES")

    response = call(daemon, "POST", f"{ADMIN}/accounts/SIM-1/flatten", login(daemon))

    data = response.json()["data"]
    assert response.status_code == 200, response.text
    assert data == {"account_id": "SIM-1", "positions": [], "orders": []}
    assert daemon.get(f"{ACCOUNT}/positions")["positions"] == []
    assert daemon.get(f"{ACCOUNT}/enforcement")["records"][0]["rule"] == "admin"


def test_reset_day_ends_the_daily_lockout_and_zeroes_pnl(daemon: DaemonProcess) -> None:
    lose_past_daily_limit(daemon)
    daily = next(x for x in active_lockouts(daemon) if x["rule"] == "daily_realized_loss")

    response = call(daemon, "POST", f"{ADMIN}/reset-day", login(daemon))

    data = response.json()["data"]
    assert response.status_code == 200, response.text
    assert daily["id"] in data["lockouts_ended"]["SIM-1"]
    assert all(x["rule"] != "daily_realized_loss" for x in active_lockouts(daemon))
    assert daemon.get(f"{ACCOUNT}/pnl")["realized"] == 0.0
    assert daemon.get(f"{ACCOUNT}/enforcement")["records"][0]["reason"] == "admin reset-day"


def test_stop_replies_then_the_daemon_exits_cleanly(daemon: DaemonProcess) -> None:
    response = call(daemon, "POST", f"{ADMIN}/daemon/stop", login(daemon))

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"stopping": True}
    assert daemon.proc is not None
    code = daemon.proc.wait(15)
    daemon.log.close()  # DaemonProcess closes it only when it stops the process itself
    assert code == 0
    assert "Admin stop" in daemon.output()
