"""Trader routes: clock-in / clock-out sessions persisted in SQLite, weekly totals."""

from __future__ import annotations

import time

from tests.api.conftest import StartAdmin, call, error_code
from tests.daemon_process import DaemonProcess

TRADER = "/api/v1/trader"


def test_clock_in_then_out_reports_duration_and_week_total(daemon: DaemonProcess) -> None:
    started = daemon.post(f"{TRADER}/clock-in")
    time.sleep(1.1)

    ended = daemon.post(f"{TRADER}/clock-out")

    assert started["open"] is True
    assert ended["session_id"] == started["session_id"]
    assert ended["open"] is False
    assert 1.0 <= ended["duration_seconds"] < 10
    assert ended["week_total_seconds"] >= ended["duration_seconds"]
    assert ended["week"].startswith(ended["week"][:4] + "-W")


def test_clock_in_twice_is_409(daemon: DaemonProcess) -> None:
    daemon.post(f"{TRADER}/clock-in")

    again = call(daemon, "POST", f"{TRADER}/clock-in")

    assert again.status_code == 409
    assert error_code(again) == "already_clocked_in"


def test_clock_out_without_session_is_409(daemon: DaemonProcess) -> None:
    response = call(daemon, "POST", f"{TRADER}/clock-out")

    assert response.status_code == 409
    assert error_code(response) == "not_clocked_in"


def test_sessions_show_current_and_this_weeks(daemon: DaemonProcess) -> None:
    daemon.post(f"{TRADER}/clock-in")
    daemon.post(f"{TRADER}/clock-out")
    daemon.post(f"{TRADER}/clock-in")

    data = daemon.get(f"{TRADER}/sessions")

    assert data["current"]["open"] is True
    assert [s["open"] for s in data["sessions"]] == [False, True]


def test_open_session_survives_a_restart(start_admin: StartAdmin) -> None:
    daemon = start_admin()
    daemon.post(f"{TRADER}/clock-in")
    daemon.stop()

    again = start_admin()

    assert again.get(f"{TRADER}/sessions")["current"]["open"] is True
    assert again.post(f"{TRADER}/clock-out")["open"] is False
