"""What a trader reads: lockout ends, trading states, money, times, paging, sessions, --url."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from cli import admin as admin_cli
from cli import output
from cli import trader as trader_cli
from tests.cli.conftest import PROFILE, Result, run_cli
from tests.daemon_process import DaemonProcess, write_config

ZONED_TIME = re.compile(r"\d\d:\d\d C[SD]?T (Mon|Tue|Wed|Thu|Fri|Sat|Sun)")


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A daemon whose account holds a losing MNQ position and traded a blocked symbol (CL)."""
    home = tmp_path_factory.mktemp("screens") / "home"
    write_config(home, PROFILE + '[profiles.test.symbol_blocks]\nsymbols = ["CL"]\n')
    daemon = DaemonProcess(home).start()
    daemon.order("buy", 1)
    daemon.price(20990.00)  # 1 MNQ loses 10 points x $2 = $20
    daemon.order("buy", 1, symbol="CL")  # blocked: CL is closed and halted, MNQ is not
    yield daemon
    try:
        daemon.stop()
    finally:
        daemon.ensure_stopped()


def trader(daemon: DaemonProcess, *args: str, env: dict[str, str] | None = None) -> Result:
    return run_cli("trader", *args, home=daemon.home, env=env)


def test_money_is_formatted_one_way_with_fees_as_a_cost(locked: DaemonProcess) -> None:
    pnl = trader(locked, "pnl", "SIM-1")
    positions = trader(locked, "positions")

    assert "-$20.00" in positions.stdout
    assert "20,990.00" in positions.stdout  # prices with separators, no dollar sign
    fees = trader(locked, "pnl", "SIM-1", "--json").json()["fees"]
    assert f"-${fees:,.2f}" in pnl.stdout
    assert "Fees are shown as a negative amount" in pnl.stdout
    assert "-$0.00" not in pnl.stdout + positions.stdout


def test_rules_print_as_toml_the_config_file_would_hold(locked: DaemonProcess) -> None:
    result = trader(locked, "rules")

    parsed = tomllib.loads(result.stdout)["profiles"]["test"]
    assert parsed["max_contracts"]["limit"] == 2
    assert parsed["daily_realized_loss"]["limit"] == 500
    assert parsed["symbol_blocks"]["symbols"] == ["CL"]
    assert "['CL']" not in result.stdout


def test_a_symbol_block_halts_only_that_root_until_the_config_changes(
    locked: DaemonProcess,
) -> None:
    status = trader(locked, "status")
    lockouts = trader(locked, "lockouts")

    assert status.code == lockouts.code == 0, status.stderr + lockouts.stderr
    assert re.search(r"ACTIVE · CL HALTED", status.stdout), status.stdout
    assert "Can trade" not in status.stdout
    row = next(line for line in lockouts.stdout.splitlines() if "symbol_blocks" in line)
    assert "until reset" not in row
    assert "until the configuration stops asking for it" in row


def test_timed_lockout_shows_end_time_in_trading_day_zone_and_countdown(
    locked: DaemonProcess,
) -> None:
    locked.order("buy", 2, symbol="ES")  # 3 > 2 contracts: a 30-minute account lockout

    lockouts = trader(locked, "lockouts")
    status = trader(locked, "status")

    row = next(line for line in lockouts.stdout.splitlines() if "max_contracts" in line)
    assert re.search(r"until " + ZONED_TIME.pattern, row), row
    assert re.search(r"\b(29|30)m \d\ds\b", row), row
    assert "HALTED" in status.stdout
    assert re.search(r"max_contracts .*until " + ZONED_TIME.pattern, status.stdout)
    log = run_cli("admin", "logs", "--file", "enforcement", home=locked.home).stdout
    violation = next(line for line in log.splitlines() if "Violation max_contracts" in line)
    assert '"limit": 2' in violation  # the trigger as JSON, not a Python repr


def test_log_limit_counts_records_not_accounts_and_pages_newest_first(
    locked: DaemonProcess,
) -> None:
    everything = trader(locked, "log", "--limit", "500", "--json").json()["records"]
    assert len(everything) >= 1

    first = trader(locked, "log", "--limit", "1", "--json").json()
    assert [r["id"] for r in first["records"]] == [everything[0]["id"]]
    ids = [r["id"] for r in everything]
    assert ids == sorted(ids, reverse=True)
    if len(everything) > 1:
        assert first["next_before"] == everything[0]["id"]
        older = trader(locked, "log", "--limit", "1", "--before", str(first["next_before"]),
                       "--json").json()  # fmt: skip
        assert [r["id"] for r in older["records"]] == [everything[1]["id"]]
    else:
        assert first["next_before"] is None


def test_log_names_the_command_for_the_next_page(locked: DaemonProcess) -> None:
    newest = trader(locked, "log", "--limit", "1", "--json").json()

    result = trader(locked, "log", "--limit", "1")

    assert f"--before {newest['next_before']}" in result.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d C[SD]?T", result.stdout)


def test_clock_in_out_speak_plainly_and_sessions_lists_them(locked: DaemonProcess) -> None:
    clock_in = trader(locked, "clock-in")
    listed = trader(locked, "sessions")
    clock_out = trader(locked, "clock-out")

    assert clock_in.code == clock_out.code == listed.code == 0
    assert re.search(r"Clocked in at " + ZONED_TIME.pattern, clock_in.stdout)
    assert "{" not in clock_in.stdout
    assert "=" not in clock_in.stdout
    assert "clocked in since" in listed.stdout
    assert "open" in listed.stdout
    assert re.search(r"Clocked out at .* after \d+:\d\d:\d\d", clock_out.stdout)
    again = trader(locked, "clock-out")
    assert again.code == 1
    assert "not clocked in" in again.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:notaport", "'notaport' is not a number"),
        ("127.0.0.1:5555", "has no scheme: write it as http://127.0.0.1:5555"),
        ("http://127.0.0.1:99999", "99999 is not between 1 and 65535"),
        ("ftp://127.0.0.1:5555", "the scheme must be http or https"),
        ("http://127.0.0.1:5555/api/v1", "give only the base URL"),
    ],
)
def test_malformed_url_is_refused_with_what_is_wrong(tmp_path: Path, url: str, says: str) -> None:
    result = run_cli("trader", "status", "--url", url, home=tmp_path)

    assert result.code == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert "not running" not in result.stderr


def test_a_daemon_started_with_home_is_found_with_home(locked: DaemonProcess) -> None:
    elsewhere = locked.home.parent / "not-the-home"

    missed = run_cli("trader", "status", home=elsewhere)
    found = run_cli("trader", "status", "--home", str(locked.home), home=elsewhere)

    assert missed.code == 3
    assert "--home DIR" in missed.stderr
    assert str(elsewhere) in missed.stderr
    assert found.code == 0, found.stderr
    assert "SIM-1" in found.stdout


def test_no_option_in_any_help_shows_a_type_placeholder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every option of both CLIs shows a named value (URL, DURATION, ...) or none (a flag),
    never typer's `<bool>` / `<str>` / `<float range>`; in-process, as `output.run` sets it up."""
    monkeypatch.setenv("COLUMNS", "200")
    placeholder = re.compile(r"(--[a-z-]+)\s+<[a-z ]+>")
    for app in (trader_cli.app, admin_cli.app):
        command = typer.main.get_command(app)
        output.hide_flag_placeholders(command)
        commands = command.commands  # type: ignore[attr-defined]
        paths = [[name] for name in commands]
        for name, sub in commands.items():
            paths += [[name, leaf] for leaf in getattr(sub, "commands", {})]
        for path in paths:
            command.main([*path, "--help"], prog_name="cli", standalone_mode=False)
            assert placeholder.findall(capsys.readouterr().out) == [], path
