"""The service commands through Typer: dry runs, platform errors, exit codes, start/stop/status."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import service
from risk_manager.service import control

FAKE = str(Path(__file__).with_name("fake_daemon.py"))
runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    service.register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    # The CLI runs the real daemon command; point it at the stand-in instead.
    monkeypatch.setattr(
        control, "daemon_command", lambda h, python=None: [sys.executable, FAKE, str(h)]
    )
    monkeypatch.delenv(control.URL_ENV, raising=False)
    yield home
    if control.read_pid(control.HomePaths(home)) is not None:
        control.stop(home, timeout=5)


def test_register_adds_all_service_commands(app: typer.Typer) -> None:
    names = {command.name for command in app.registered_commands}
    assert names == {"install-daemon", "uninstall-daemon", "start", "stop", "restart", "status"}


def test_install_dry_run_prints_exact_commands(app: typer.Typer) -> None:
    result = runner.invoke(
        app, ["install-daemon", "--dry-run", "--home", r"C:\Risk Home", "--nssm", r"C:\t\nssm.exe"]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # The nssm.exe given is copied under Program Files; the service runs that copy.
    assert any(
        line.endswith(r'copy-nssm C:\t\nssm.exe "C:\Program Files\RiskManager\nssm.exe"')
        for line in lines
    )
    assert (
        r'"C:\Program Files\RiskManager\nssm.exe" install RiskManagerDaemon "C:\Program Files\Py'
        in next(line for line in lines if 'nssm.exe" install ' in line)
    )
    assert r'"-I -u -m risk_manager run --home \"C:\Risk Home\""' in result.output
    assert (
        "sc failure RiskManagerDaemon reset= 3600 actions= "
        "restart/10000/restart/30000/restart/60000" in lines
    )
    assert "sc failureflag RiskManagerDaemon 1" in lines


@pytest.mark.skipif(sys.platform == "win32", reason="the non-Windows refusal")
def test_install_off_windows_points_to_systemd(app: typer.Typer) -> None:
    result = runner.invoke(app, ["install-daemon", "--yes"])

    assert result.exit_code == service.ExitCode.WINDOWS_ONLY
    assert "Windows-only" in result.output
    assert "deploy/systemd" in result.output


def test_uninstall_dry_run_lists_deletions_only_when_asked(app: typer.Typer) -> None:
    keep = runner.invoke(app, ["uninstall-daemon", "--dry-run", "--home", r"C:\RM"])
    wipe = runner.invoke(
        app, ["uninstall-daemon", "--dry-run", "--delete-data", "--home", r"C:\RM"]
    )

    assert keep.exit_code == wipe.exit_code == 0
    assert 'RiskManager\\nssm.exe" remove RiskManagerDaemon confirm' in keep.output
    assert "rmdir" not in keep.output
    assert r"cmd /d /c rmdir /s /q C:\RM\state" in wipe.output


def test_relative_home_is_a_usage_error(app: typer.Typer) -> None:
    result = runner.invoke(app, ["install-daemon", "--dry-run", "--home", "relative"])
    assert result.exit_code == service.ExitCode.USAGE
    assert "absolute" in result.output


def test_help_documents_the_exit_codes(app: typer.Typer) -> None:
    for command in ("install-daemon", "stop", "status"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "3 daemon not running" in " ".join(result.output.split())


def test_status_when_not_running_exits_3_with_json(app: typer.Typer, home: Path) -> None:
    result = runner.invoke(app, ["status", "--home", str(home), "--json"])

    assert result.exit_code == service.ExitCode.NOT_RUNNING
    payload = json.loads(result.output)
    assert payload["running"] is False
    assert payload["healthy"] is False


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX background process")
def test_start_status_stop_round_trip(app: typer.Typer, home: Path) -> None:
    started = runner.invoke(app, ["start", "--home", str(home), "--json"])
    assert started.exit_code == 0, started.output
    pid = json.loads(started.output)["pid"]

    status = runner.invoke(app, ["status", "--home", str(home), "--json"])
    assert status.exit_code == 0
    assert json.loads(status.output)["pid"] == pid

    stopped = runner.invoke(app, ["stop", "--home", str(home)])
    assert stopped.exit_code == 0
    assert f"Daemon stopped (PID: {pid}, exit code 0)" in stopped.output

    again = runner.invoke(app, ["stop", "--home", str(home)])
    assert again.exit_code == service.ExitCode.NOT_RUNNING
    assert again.output.startswith("error: daemon is not running")
