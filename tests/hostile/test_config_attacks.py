"""Bad configs against the real daemon: refused identically by replace, reload, start-up and
`risk-admin config validate` (one validator), so nothing accepted can break the next start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.exit_codes import ExitCode
from tests.api.conftest import ADMIN, LOSS_PROFILE, call, error_code, login
from tests.daemon_process import MANUAL_CONFIG, DaemonProcess

GOOD = MANUAL_CONFIG.format(profile=LOSS_PROFILE)
PRICES = "prices = { MNQ = 21000.00, ES = 6000.00, NQ = 21000.00, CL = 70.00 }"

# name → (config text, a fragment of the problem the validator must report)
BAD = {
    "log rotation": (GOOD.replace("[daemon.log]", '[daemon.log]\nrotation = "banana"'),
                     "daemon.log.rotation"),
    "log retention": (GOOD.replace("[daemon.log]", '[daemon.log]\nretention = "for ages"'),
                      "daemon.log.retention"),
    "unknown simulator symbol": (
        GOOD.replace("market = ", 'symbols = ["MNQ", "ZZQ"]\nmarket = '),
        "broker.simulated.symbols.1: unknown symbol 'ZZQ'"),
    "negative simulator price": (GOOD.replace("MNQ = 21000.00", "MNQ = -5.0"),
                                 "broker.simulated.prices.MNQ"),
    "absurd simulator price": (GOOD.replace("MNQ = 21000.00", "MNQ = 1e28"),
                               "broker.simulated.prices.MNQ"),
    "unknown root in prices": (GOOD.replace("CL = 70.00", "FOO = 70.00"),
                               "broker.simulated.prices.FOO: unknown symbol"),
    "unknown root in fees": (GOOD.replace(PRICES, PRICES + "\nfees = { XYZ = 1.0 }"),
                             "broker.simulated.fees.XYZ: unknown symbol"),
    "unknown root in a rule": (GOOD + 'symbol_blocks.symbols = ["QQQ"]\n',
                               "profiles.test.symbol_blocks.symbols"),
    "boolean limit": (GOOD.replace("limit = 100", "limit = true"),
                      "profiles.test.daily_realized_loss.limit: expected a number"),
    "string limit": (GOOD.replace("limit = 100", 'limit = "500"'),
                     "profiles.test.daily_realized_loss.limit: expected a number"),
    "infinite watchdog": (GOOD.replace("port = 0", "port = 0\nwatchdog_seconds = inf"),
                          "daemon.watchdog_seconds"),
    "absurd body limit": (GOOD.replace("port = 0", "port = 0\nmax_body_bytes = 1e15"),
                          "daemon.max_body_bytes"),
    "boolean port": (GOOD.replace("port = 0", "port = true"), "daemon.port"),
    "event recording onto a folder": (GOOD.replace("port = 0", 'port = 0\nrecord_events = "/"'),
                                      "daemon.record_events: / is a folder"),
    "reset time with a UTC offset": (GOOD + '[trading_day]\nreset_time = "17:00Z"\n',
                                     "trading_day.reset_time: a wall time takes no UTC offset"),
    "time zone naming a folder": (GOOD + '[trading_day]\ntimezone = "America"\n',
                                  "trading_day.timezone: unknown time zone 'America'"),
    "empty file": ("", "accounts: no account is configured"),
    "no rule at all": (MANUAL_CONFIG.format(profile=""), "profiles: no account has an enabled"),
}  # fmt: skip


def _config_path(daemon: DaemonProcess) -> Path:
    return daemon.home / "config" / "risk_manager.toml"


START = [sys.executable, "-m", "risk_manager", "run", "--port", "0", "--home"]
VALIDATE = [sys.executable, "-m", "cli.admin", "config", "validate", "--json"]


def _start(home: Path) -> subprocess.CompletedProcess[str]:
    """A foreground start that is expected to fail (a success is stopped by the timeout)."""
    return subprocess.run([*START, str(home)], capture_output=True, text=True, timeout=60)


def _start_and_validate(home: Path) -> tuple[tuple[int, str], tuple[int, str]]:
    """(exit code, stderr) of a start and (exit code, stdout) of `config validate`, run at once."""
    path = str(home / "config" / "risk_manager.toml")
    pipe, null = subprocess.PIPE, subprocess.DEVNULL
    start = subprocess.Popen([*START, str(home)], stdout=null, stderr=pipe, text=True)
    check = subprocess.Popen([*VALIDATE, path], stdout=pipe, stderr=null, text=True)
    with start, check:
        start_err = start.communicate(timeout=60)[1]
        report = check.communicate(timeout=60)[0]
    return (start.returncode, start_err), (check.returncode, report)


@pytest.mark.timeout(400)  # 15 configs, each refused by two fresh processes
def test_bad_configs_are_refused_alike_by_replace_reload_start_and_validate(
    daemon: DaemonProcess,
) -> None:
    headers = {**login(daemon), "Content-Type": "application/toml"}
    good = _config_path(daemon).read_text()
    refusals: dict[str, list[str]] = {}
    for name, (text, problem) in BAD.items():
        replaced = call(daemon, "PUT", f"{ADMIN}/config", headers, content=text.encode())
        assert _config_path(daemon).read_text() == good, name  # nothing written
        _config_path(daemon).write_text(text)
        reloaded = call(daemon, "POST", f"{ADMIN}/config/reload", headers)
        _config_path(daemon).write_text(good)
        for response in (replaced, reloaded):
            assert response.status_code == 422, (name, response.text)
            assert error_code(response) == "invalid_config"
            assert any(problem in p for p in response.json()["error"]["details"]), response.text
        refusals[name] = reloaded.json()["error"]["details"]
        assert replaced.json()["error"]["details"] == refusals[name], name
    assert daemon.get("/api/v1/status")["connected"] is True
    assert daemon.stop() == 0

    for name, (text, _) in BAD.items():
        _config_path(daemon).write_text(text)
        (code, stderr), (check_code, report) = _start_and_validate(daemon.home)

        assert code == 2, (name, stderr)
        assert "Traceback" not in stderr
        line = next(x for x in stderr.splitlines() if "cannot start" in x)
        assert str(_config_path(daemon)) in line
        assert all(problem in line for problem in refusals[name]), (name, line)
        assert check_code == ExitCode.INVALID_CONFIG, report
        assert json.loads(report)["problems"] == refusals[name], name


def test_after_every_refused_replace_the_daemon_restarts_on_its_last_good_config(
    daemon: DaemonProcess, start_admin: object
) -> None:
    headers = {**login(daemon), "Content-Type": "application/toml"}
    for text, _ in BAD.values():
        response = call(daemon, "PUT", f"{ADMIN}/config", headers, content=text.encode())
        assert response.status_code == 422, response.text
    assert daemon.stop() == 0

    again = DaemonProcess(daemon.home, allow_empty=False).start()
    try:
        rules = again.get("/api/v1/rules")["SIM-1"]["rules"]
        assert float(rules["daily_realized_loss"]["limit"]) == 100
    finally:
        again.ensure_stopped()


def test_an_empty_config_needs_explicit_confirmation_and_is_announced(
    daemon: DaemonProcess,
) -> None:
    headers = {**login(daemon), "Content-Type": "application/toml"}

    refused = call(daemon, "PUT", f"{ADMIN}/config", headers, content=b"")
    confirmed = call(daemon, "PUT", f"{ADMIN}/config?allow_empty=true", headers, content=b"")

    assert refused.status_code == 422
    assert "--allow-empty" in refused.json()["error"]["message"]
    assert confirmed.status_code == 200, confirmed.text
    assert _config_path(daemon).read_text() == ""
    assert "CRITICAL" in daemon.output()
    assert "A config that enforces nothing was applied" in daemon.output()


def test_start_with_an_empty_config_needs_allow_empty(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "risk_manager.toml").write_text("")

    refused = _start(home)
    started = DaemonProcess(home, allow_empty=True).start()
    try:
        assert started.get("/api/v1/accounts") == []
    finally:
        started.ensure_stopped()

    assert refused.returncode == 2
    assert "--allow-empty" in refused.stderr
    assert "Started with --allow-empty" in started.output()


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_config_that_is_not_utf8_exits_2_naming_the_file(
    daemon: DaemonProcess, encoding: str
) -> None:
    text = GOOD.replace('name = "Test account"', 'name = "Compte d\'essai é"')
    _config_path(daemon).write_bytes(text.encode(encoding))
    headers = login(daemon)

    reloaded = call(daemon, "POST", f"{ADMIN}/config/reload", headers)
    assert daemon.stop() == 0
    started = _start(daemon.home)

    assert reloaded.status_code == 422, reloaded.text
    assert "save it as UTF-8" in reloaded.text
    assert started.returncode == 2
    assert "Traceback" not in started.stderr
    assert str(_config_path(daemon)) in started.stderr
    assert "save it as UTF-8" in started.stderr
