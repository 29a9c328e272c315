"""`risk-admin accounts test` against the fake Gateway: the accounts, round trips, or one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import free_port_url, run_cli
from tests.projectx.daemon_config import write_home
from tests.projectx.fake_gateway.server import FakeGateway


def test_lists_the_gateway_accounts_with_round_trips(gateway: FakeGateway, tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", gateway, "")
    gateway.set_can_trade(4_012, False)
    result = run_cli("admin", "accounts", "test", "--json", home=home)

    assert result.code == 0, result.stderr
    data = result.json()
    assert data["accounts"] == [
        {"id": "4011", "name": "PRAC-V2-4011", "balance": "50000.0", "can_trade": True},
        {"id": "4012", "name": "PRAC-V2-4012", "balance": "50000.0", "can_trade": False},
    ]
    assert data["missing"] == []
    assert data["ping_ms"] > 0
    assert data["login_ms"] > 0
    assert data["hub_ms"] > 0
    human = run_cli("admin", "accounts", "test", home=home)
    assert human.code == 0
    assert "PRAC-V2-4012" in human.stdout
    assert "Round trips: ping" in human.stdout


@pytest.mark.parametrize(
    ("code", "says"),
    [(3, "invalid credentials: check the username and API key"),
     (7, "has not signed the platform agreements"),
     (9, "no API subscription")],
)  # fmt: skip
def test_a_refused_login_says_why_in_one_line(
    gateway: FakeGateway, tmp_path: Path, code: int, says: str
) -> None:
    home = write_home(tmp_path / "home", gateway, "")
    gateway.set(login_error=code)
    result = run_cli("admin", "accounts", "test", home=home)

    assert result.code == 1
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "test-api-key" not in result.stderr + result.stdout


def test_missing_key_and_unreachable_gateway_are_named(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    home = write_home(tmp_path / "home", gateway, "")
    (home / "secrets" / "projectx_api_key").unlink()
    result = run_cli("admin", "accounts", "test", home=home)
    assert result.code == 1
    assert "no ProjectX API key" in result.stderr

    write_home(home, gateway, "")
    config = home / "config" / "risk_manager.toml"
    config.write_text(config.read_text().replace(gateway.url, free_port_url()))
    result = run_cli("admin", "accounts", "test", home=home)
    assert result.code == 1
    assert "cannot use the Gateway" in result.stderr
