"""What an admin reads: config changes that need a restart, raw config output, exit codes."""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import PASSWORD, PROFILE, Result, run_cli
from tests.daemon_process import DaemonProcess, write_config

AUTH = {"RISK_MANAGER_ADMIN_PASSWORD": PASSWORD}
# A comment longer than 80 columns: rich would have wrapped or cropped it.
LONG_LINE = "# " + "a very long comment that a terminal of eighty columns would wrap " * 3


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    home = tmp_path_factory.mktemp("admin-operator") / "home"
    config = write_config(home, PROFILE)
    config.write_text(LONG_LINE + "\n" + config.read_text())
    assert run_cli("admin", "set-password", home=home, env=AUTH).code == 0
    daemon = DaemonProcess(home).start()
    yield daemon
    try:
        daemon.stop()
    finally:
        daemon.ensure_stopped()


def admin_cli(daemon: DaemonProcess, *args: str) -> Result:
    return run_cli("admin", *args, home=daemon.home, env=AUTH)


def config_path(daemon: DaemonProcess) -> Path:
    return daemon.home / "config" / "risk_manager.toml"


def enforcement_ids(daemon: DaemonProcess) -> list[int]:
    return [r["id"] for r in daemon.get("/api/v1/enforcement", params={"limit": 500})["records"]]


def test_config_show_to_a_pipe_is_the_file_byte_for_byte(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "config", "show")

    assert result.code == 0, result.stderr
    assert result.stdout == config_path(admin).read_text()
    assert LONG_LINE in result.stdout.splitlines()


def test_config_show_leaves_the_enforcement_log_alone(admin: DaemonProcess) -> None:
    before = enforcement_ids(admin)

    assert admin_cli(admin, "config", "show").code == 0
    assert admin_cli(admin, "config", "show", "--json").code == 0

    assert enforcement_ids(admin) == before


def test_reload_says_a_new_account_is_not_protected_until_a_restart(
    admin: DaemonProcess,
) -> None:
    path = config_path(admin)
    original = path.read_text()
    path.write_text(original + '\n[accounts.SIM-2]\nname = "New"\nprofile = "test"\n')
    try:
        result = admin_cli(admin, "config", "reload")
    finally:
        path.write_text(original)
        admin_cli(admin, "config", "reload")

    assert result.code == 0, result.stderr
    assert "NOT in force until the daemon restarts" in result.stdout
    assert "accounts.SIM-2" in result.stdout
    assert "NOT protected" in result.stdout
    assert "risk-admin restart" in result.stdout


def test_reload_of_a_live_change_says_it_is_in_force(admin: DaemonProcess) -> None:
    path = config_path(admin)
    original = path.read_text()
    path.write_text(original.replace("limit = 500", "limit = 400"))
    try:
        result = admin_cli(admin, "config", "reload")
    finally:
        path.write_text(original)
        admin_cli(admin, "config", "reload")

    assert result.code == 0, result.stderr
    assert "In force now" in result.stdout
    assert "profiles.test.daily_realized_loss.limit" in result.stdout
    assert "restart" not in result.stdout


def test_invalid_config_exits_5_in_validate_replace_reload_and_start(
    admin: DaemonProcess, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(config_path(admin).read_text() + "\n[profiles.test.max_contract]\nlimit = 1\n")
    path = config_path(admin)
    original = path.read_text()

    validate = admin_cli(admin, "config", "validate", str(bad))
    replace = admin_cli(admin, "config", "replace", str(bad))
    path.write_text(bad.read_text())
    try:
        reload = admin_cli(admin, "config", "reload")
        start = admin_cli(admin, "start", "--home", str(admin.home))
    finally:
        path.write_text(original)

    for result in (validate, replace, reload, start):
        assert result.code == 5, result.stderr
        assert "profiles.test.max_contract: unknown key (did you mean max_contracts?)" in (
            result.stderr
        )
    assert admin.get("/api/v1/health")["status"]  # the daemon kept running on its old config


def test_replace_with_a_valid_file_reports_what_changed(
    admin: DaemonProcess, tmp_path: Path
) -> None:
    new = tmp_path / "new.toml"
    new.write_text(config_path(admin).read_text().replace("limit = 500", "limit = 450"))
    original = config_path(admin).read_text()
    try:
        result = admin_cli(admin, "config", "replace", str(new))
        rules = admin.get("/api/v1/rules")["SIM-1"]["rules"]
    finally:
        config_path(admin).write_text(original)
        admin_cli(admin, "config", "reload")

    assert result.code == 0, result.stderr
    assert "profiles.test.daily_realized_loss.limit" in result.stdout
    assert float(rules["daily_realized_loss"]["limit"]) == 450


def test_restart_refuses_a_home_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-home"

    result = run_cli("admin", "restart", "--home", str(missing), home=tmp_path)

    assert result.code == 6
    assert "no daemon home" in result.stderr
    assert not missing.exists()


def test_install_dry_run_off_windows_names_the_windows_plan_and_the_home(tmp_path: Path) -> None:
    result = run_cli("admin", "install-daemon", "--dry-run", "--home", "D:\\Risk", home=tmp_path)

    assert result.code == 0, result.stderr
    assert "Windows install plan for home D:\\Risk" in result.stderr
    assert "D:\\Risk" in result.stdout
    assert "ProgramData" not in result.stdout
    dry = ("--dry-run", "--home", "D:\\Risk")
    uninstall = run_cli("admin", "uninstall-daemon", *dry, home=tmp_path)
    assert uninstall.code == 0, uninstall.stderr
    assert "Windows uninstall plan for home D:\\Risk" in uninstall.stderr


def test_doctor_uses_the_port_in_the_config_when_no_daemon_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, PROFILE)
    config = home / "config" / "risk_manager.toml"
    config.write_text(config.read_text().replace("port = 0", "port = 5999"))

    result = run_cli("admin", "doctor", "--json", home=home)

    checks = {c["check"]: c for c in result.json()}
    assert result.code == 4  # the first failed check: no admin password set in this home
    assert "127.0.0.1:5999" in checks["daemon reachable"]["detail"]
    assert "port in" in checks["daemon reachable"]["detail"]
    assert checks["port"]["detail"] == "nothing listens on 127.0.0.1:5999"


def test_doctor_reports_failed_admin_logins(admin: DaemonProcess) -> None:
    wrong = run_cli("admin", "config", "show", home=admin.home,
                    env={"RISK_MANAGER_ADMIN_PASSWORD": "wrong-Password-1"})  # fmt: skip
    assert wrong.code == 4

    result = run_cli("admin", "doctor", "--json", home=admin.home)

    check = next(c for c in result.json() if c["check"] == "admin login")
    assert "1 failed login" in check["detail"]
    assert admin_cli(admin, "config", "show").code == 0  # a good login clears the count


def test_rules_output_is_valid_toml(admin: DaemonProcess) -> None:
    result = admin_cli(admin, "rules")

    # The tables a config file holds, so the output pastes into one
    profile = tomllib.loads(result.stdout)["profiles"]["test"]
    assert profile["max_contracts"]["lockout_minutes"] == 30


def test_start_on_a_taken_port_says_the_daemon_enforces_without_its_api(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(home, PROFILE)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused at once
        port = squatter.getsockname()[1]
        config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        try:
            start = run_cli("admin", "start", "--home", str(home), home=home)
            status = run_cli("trader", "status", home=home)
        finally:
            stop = run_cli("admin", "stop", "--home", str(home), home=home)

    assert start.code == 9, start.stderr  # running but unhealthy, not a 30 s timeout
    assert "enforces the rules, but its API cannot listen" in start.stderr
    assert f"127.0.0.1:{port}" in start.stderr
    # What the daemon printed, its time labelled with the zone (the machine's, not the CLI's)
    assert re.search(r"\d\d:\d\d:\d\d \S+ CRITICAL .*cannot listen", start.stderr)
    assert status.code == 3
    assert "the daemon runs (PID" in status.stderr
    assert stop.code == 0, stop.stderr


def test_doctor_on_a_broken_config_writes_one_line_per_check_to_a_pipe(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(home, PROFILE)
    config.write_text(config.read_text() + "\nbogus =\n")

    result = run_cli("admin", "doctor", "--home", str(home), home=home, env={"COLUMNS": "80"})

    assert result.code == 5, result.stderr  # the first failed check: the configuration
    lines = result.stdout.splitlines()
    assert lines[1].startswith("✗ config: TOML syntax")
    reachable = next(line for line in lines if line.startswith("✗ daemon reachable"))
    assert reachable.endswith("or pass --url")  # not cut at 80 columns
