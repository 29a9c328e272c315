"""risk-trader against a real daemon: every command, --json, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import trader_doctor
from cli.exit_codes import CliError
from tests.cli.conftest import free_port_url, run_cli
from tests.daemon_process import DaemonProcess

READ_COMMANDS = [
    ("status",),
    ("positions",),
    ("positions", "SIM-1"),
    ("pnl",),
    ("pnl", "SIM-1"),
    ("lockouts",),
    ("lockouts", "SIM-1"),
    ("log",),
    ("log", "SIM-1", "--limit", "5"),
    ("rules",),
    ("doctor",),
    ("watch", "--once"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_command_with_json_prints_only_json(daemon: DaemonProcess, args: tuple[str]) -> None:
    result = run_cli("trader", *args, "--json", "--url", daemon.url, home=daemon.home)

    assert result.code == 0, result.stderr
    assert result.json() is not None


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_command_renders_for_humans(daemon: DaemonProcess, args: tuple[str]) -> None:
    result = run_cli("trader", *args, "--url", daemon.url, home=daemon.home)

    assert result.code == 0, result.stderr
    assert result.stdout.strip()


def test_url_comes_from_environment(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "pnl", "--json", home=daemon.home,
                     env={"RISK_MANAGER_URL": daemon.url})  # fmt: skip

    assert result.code == 0, result.stderr
    assert result.json()[0]["account_id"] == "SIM-1"


def test_url_comes_from_daemon_url_file_in_home(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "status", "--json", home=daemon.home)

    assert result.code == 0, result.stderr
    assert result.json()["status"]["accounts"][0]["account_id"] == "SIM-1"


def test_doctor_names_the_url_that_hides_a_running_daemon(daemon: DaemonProcess) -> None:
    dead = free_port_url()

    result = run_cli("trader", "doctor", "--url", dead, home=daemon.home)

    assert result.code == 0, result.stderr
    assert f"the CLIs use {dead} (--url), which does not answer: pass --url {daemon.url}" in (
        result.stdout
    )


def test_status_summarises_health_and_accounts(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "status", "--url", daemon.url, home=daemon.home)

    assert "healthy" in result.stdout
    assert "SIM-1" in result.stdout


def test_rules_json_lists_limits(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "rules", "--json", "--url", daemon.url, home=daemon.home)

    assert result.json()["SIM-1"]["rules"]["daily_realized_loss"]["limit"] in ("500", 500)


def test_unknown_account_exits_6_with_one_line(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "pnl", "NOPE", "--json", "--url", daemon.url, home=daemon.home)

    assert result.code == 6
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NOPE" in result.stderr


def test_bad_option_is_usage_error(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "log", "--limit", "0", "--url", daemon.url, home=daemon.home)

    assert result.code == 2


def test_watch_runs_for_a_duration_without_a_terminal(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "watch", "--duration", "1.5", "--url", daemon.url,
                     home=daemon.home)  # fmt: skip

    assert result.code == 0, result.stderr
    assert "SIM-1" in result.stdout
    assert "daily_realized_loss" in result.stdout


def test_watch_once_shows_limit_distance(daemon: DaemonProcess) -> None:
    result = run_cli("trader", "watch", "--once", "--url", daemon.url, home=daemon.home)

    assert "$500.00" in result.stdout


def test_clock_in_then_out(daemon: DaemonProcess) -> None:
    clock_in = run_cli("trader", "clock-in", "--json", "--url", daemon.url, home=daemon.home)
    clock_out = run_cli("trader", "clock-out", "--json", "--url", daemon.url, home=daemon.home)

    assert clock_in.code == 0, clock_in.stderr
    assert clock_out.code == 0, clock_out.stderr
    session_in, session_out = clock_in.json(), clock_out.json()
    assert session_in["open"] is True
    assert session_out["open"] is False
    assert session_out["session_id"] == session_in["session_id"]
    assert session_out["duration_seconds"] >= 0
    assert session_out["week_total_seconds"] >= session_out["duration_seconds"]


DOWN_COMMANDS = [a for a in READ_COMMANDS if a[0] != "doctor"] + [("clock-in",), ("clock-out",)]


@pytest.mark.parametrize("args", DOWN_COMMANDS, ids=" ".join)
def test_daemon_down_exits_3_with_one_line(tmp_path: Path, args: tuple[str]) -> None:
    result = run_cli("trader", *args, "--json", "--url", free_port_url(), home=tmp_path)

    assert result.code == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "daemon not" in lines[0]


def test_doctor_when_daemon_down_reports_and_exits_3(tmp_path: Path) -> None:
    down = free_port_url()

    result = run_cli("trader", "doctor", "--json", "--url", down, home=tmp_path)

    assert result.code == 3
    report = result.json()
    assert report["found"] is None
    first = report["candidates"][0]
    assert {k: first[k] for k in ("source", "url", "loopback", "reachable", "status")} == {
        "source": "--url",
        "url": down,
        "loopback": True,
        "reachable": False,
        "status": None,
    }
    assert f"daemon not running at {down}" in first["problem"]


def test_doctor_in_wsl_prints_mirrored_networking_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(trader_doctor, "is_wsl", lambda: True)
    monkeypatch.delenv("RISK_MANAGER_URL", raising=False)

    with pytest.raises(CliError) as failed:
        trader_doctor.doctor(url=free_port_url(), as_json=True)

    assert failed.value.exit_code == 3
    assert "networkingMode=mirrored" in capsys.readouterr().err


def test_loopback_detection() -> None:
    assert trader_doctor.is_loopback("http://127.0.0.1:5555")
    assert trader_doctor.is_loopback("http://localhost:5555")
    assert trader_doctor.is_loopback("http://[::1]:5555")
    assert not trader_doctor.is_loopback("http://192.168.1.5:5555")
