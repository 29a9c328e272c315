"""risk-admin against a real daemon: password, auth, config, admin actions, logs, doctor."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import PASSWORD, Result, free_port_url, run_cli
from tests.daemon_process import DaemonProcess

AUTH = {"RISK_MANAGER_ADMIN_PASSWORD": PASSWORD}
EDIT_SCRIPT = """
import sys
from pathlib import Path
path = Path(sys.argv[-1])
path.write_text(path.read_text().replace({old!r}, {new!r}))
"""


@pytest.fixture(scope="module")
def admin(daemon: DaemonProcess) -> DaemonProcess:
    """The module's daemon with an admin password set through the CLI."""
    result = run_cli("admin", "set-password", "--home", str(daemon.home), home=daemon.home,
                     env=AUTH)  # fmt: skip
    assert result.code == 0, result.stderr
    return daemon


def admin_cli(daemon: DaemonProcess, *args: str, env: dict[str, str] | None = None) -> Result:
    return run_cli("admin", *args, "--url", daemon.url, home=daemon.home, env=env or AUTH)


def editor(tmp_path: Path, old: str, new: str) -> dict[str, str]:
    script = tmp_path / "edit.py"
    script.write_text(EDIT_SCRIPT.format(old=old, new=new))
    return {**AUTH, "EDITOR": f"{sys.executable} {script}"}


# ---- set-password ----------------------------------------------------------------------------


def test_set_password_refuses_weak_password(tmp_path: Path) -> None:
    result = run_cli("admin", "set-password", "--home", str(tmp_path), home=tmp_path,
                     env={"RISK_MANAGER_ADMIN_PASSWORD": "short"})  # fmt: skip

    assert result.code == 2
    assert "password refused" in result.stderr
    assert not (tmp_path / "secrets" / "admin.json").exists()


def test_set_password_without_password_or_terminal_is_refused(tmp_path: Path) -> None:
    result = run_cli("admin", "set-password", "--home", str(tmp_path), home=tmp_path)

    assert result.code == 2
    assert not (tmp_path / "secrets" / "admin.json").exists()


def test_set_password_writes_secret_without_the_password(tmp_path: Path) -> None:
    result = run_cli("admin", "set-password", "--home", str(tmp_path), "--json", home=tmp_path,
                     env=AUTH)  # fmt: skip

    assert result.code == 0, result.stderr
    secret = Path(result.json()["secret_file"])
    assert secret == tmp_path / "secrets" / "admin.json"
    assert PASSWORD not in secret.read_text()
    assert PASSWORD not in result.stdout + result.stderr


# ---- auth ------------------------------------------------------------------------------------


def test_admin_command_without_password_exits_4(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "reload", env={"RISK_MANAGER_ADMIN_PASSWORD": ""})

    assert result.code == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert "RISK_MANAGER_ADMIN_PASSWORD" in result.stderr


def test_admin_command_with_wrong_password_exits_4(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "reload",
                       env={"RISK_MANAGER_ADMIN_PASSWORD": "Wrong-Password-77"})  # fmt: skip

    assert result.code == 4
    assert "admin login failed" in result.stderr


def test_password_from_stdin(admin: DaemonProcess) -> None:
    result = run_cli("admin", "config", "reload", "--password-stdin", "--json", "--url",
                     admin.url, home=admin.home, stdin=PASSWORD + "\n")  # fmt: skip

    assert result.code == 0, result.stderr


def test_admin_command_when_daemon_down_exits_3(tmp_path: Path) -> None:
    result = run_cli("admin", "config", "reload", "--url", free_port_url(), home=tmp_path,
                     env=AUTH)  # fmt: skip

    assert result.code == 3
    assert "daemon not running at" in result.stderr


# ---- config ----------------------------------------------------------------------------------


def test_config_show_json_has_file_text(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "show", "--json")

    assert result.code == 0, result.stderr
    assert "[profiles.test" in result.stdout


def test_config_show_highlights_toml(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "show")

    assert result.code == 0, result.stderr
    assert "daily_realized_loss" in result.stdout


def test_config_reload(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "reload", "--json")

    assert result.code == 0, result.stderr
    result.json()


def test_config_validate_good_file(admin: DaemonProcess) -> None:
    path = admin.home / "config" / "risk_manager.toml"

    result = run_cli("admin", "config", "validate", str(path), "--json", home=admin.home)

    assert result.code == 0, result.stderr
    assert result.json() == {"file": str(path), "valid": True, "problems": []}


def test_config_validate_bad_file_exits_5_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[daemon]\nport = 99999\nbogus = 1\n")

    result = run_cli("admin", "config", "validate", str(path), home=tmp_path)
    as_json = run_cli("admin", "config", "validate", str(path), "--json", home=tmp_path)

    assert result.code == 5
    assert "daemon.port:" in result.stderr
    assert "daemon.bogus: unknown key" in result.stderr
    assert as_json.code == 5
    assert as_json.json()["valid"] is False


def test_config_edit_applies_a_valid_change(admin: DaemonProcess, tmp_path: Path) -> None:
    env = editor(tmp_path, "limit = 500", "limit = 750")

    result = admin_cli(admin, "config", "edit", "--json", env=env)

    assert result.code == 0, result.stderr
    rules = admin.get("/api/v1/rules")
    assert float(rules["SIM-1"]["rules"]["daily_realized_loss"]["limit"]) == 750


def test_config_edit_invalid_change_is_not_sent(admin: DaemonProcess, tmp_path: Path) -> None:
    env = editor(tmp_path, "lockout_minutes = 30", "lockout_minutes = -1")

    result = admin_cli(admin, "config", "edit", env=env)

    assert result.code == 5
    assert "lockout_minutes" in result.stderr
    assert admin.get("/api/v1/rules")["SIM-1"]["rules"]["max_contracts"]["lockout_minutes"] == 30


def test_config_edit_without_change_sends_nothing(admin: DaemonProcess, tmp_path: Path) -> None:
    result = admin_cli(admin, "config", "edit", "--json", env=editor(tmp_path, "x", "x"))

    assert result.code == 0, result.stderr
    assert result.json() == {"changed": False}


# ---- accounts, rules and admin actions ---------------------------------------------------------


@pytest.mark.parametrize("command", ["accounts", "rules"])
def test_read_commands(admin: DaemonProcess, command: str) -> None:
    as_json = admin_cli(admin, command, "--json")
    human = admin_cli(admin, command)

    assert as_json.code == 0, as_json.stderr
    assert "SIM-1" in str(as_json.json())
    assert human.code == 0
    assert "SIM-1" in human.stdout


def test_unlock_ends_the_lockout(admin: DaemonProcess) -> None:
    admin.order("buy", 3)  # max_contracts is 2: a 30-minute lockout
    deadline = time.monotonic() + 5
    while not admin.get("/api/v1/accounts/SIM-1/lockouts")["locked"]:
        assert time.monotonic() < deadline, "no lockout"
        time.sleep(0.05)

    result = admin_cli(admin, "unlock", "SIM-1", "--json")

    assert result.code == 0, result.stderr
    assert admin.get("/api/v1/accounts/SIM-1/lockouts")["locked"] is False


def test_unlock_unknown_account_exits_6(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "unlock", "NOPE")

    assert result.code == 6


def test_flatten_needs_yes_when_not_interactive(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "flatten", "SIM-1")

    assert result.code == 2
    assert "--yes" in result.stderr


def test_flatten_with_yes(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "flatten", "SIM-1", "--yes", "--json")

    assert result.code == 0, result.stderr
    result.json()


def test_reset_day_with_yes(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "reset-day", "--yes", "--json")

    assert result.code == 0, result.stderr
    result.json()


# ---- logs and doctor -------------------------------------------------------------------------


def test_logs_tail_json(admin: DaemonProcess) -> None:
    result = run_cli("admin", "logs", "--lines", "1", "--json", "--home", str(admin.home),
                     home=admin.home)  # fmt: skip

    assert result.code == 0, result.stderr
    assert len(result.json()["lines"]) == 1
    assert "Daemon started" in (admin.home / "logs" / "system.log").read_text()


def test_logs_missing_file_exits_6(tmp_path: Path) -> None:
    result = run_cli("admin", "logs", "--file", "error", "--home", str(tmp_path), home=tmp_path)

    assert result.code == 6


def test_logs_follow_prints_appended_lines(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "enforcement.log"
    log.parent.mkdir()
    log.write_text("old line\n")
    command = [sys.executable, "-m", "cli.admin", "logs", "--file", "enforcement", "--follow",
               "--lines", "1", "--home", str(tmp_path)]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as follower:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "old line\n"
        with log.open("a") as handle:
            handle.write("new line\n")
        assert follower.stdout.readline() == "new line\n"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(10) == 0


def test_doctor_all_green(admin: DaemonProcess) -> None:
    result = run_cli("admin", "doctor", "--json", "--home", str(admin.home), "--url", admin.url,
                     home=admin.home)  # fmt: skip

    assert result.code == 0, result.stdout
    assert all(check["ok"] for check in result.json())


def test_doctor_when_daemon_down(tmp_path: Path) -> None:
    result = run_cli("admin", "doctor", "--home", str(tmp_path), "--url", free_port_url(),
                     home=tmp_path)  # fmt: skip

    assert result.code != 0
    assert "✗ daemon reachable" in result.stdout
