"""Admin config routes: show, replace (TOML or JSON), reload; all-or-nothing validation."""

from __future__ import annotations

import tomllib

import httpx
import pytest

from tests.api.conftest import ACCOUNT, ADMIN, call, error_code, login
from tests.daemon_process import DaemonProcess

TOML = {"Content-Type": "application/toml"}


def config_file(daemon: DaemonProcess) -> str:
    return (daemon.home / "config" / "risk_manager.toml").read_text()


def loss_limit(daemon: DaemonProcess) -> float:
    return float(daemon.get("/api/v1/rules")["SIM-1"]["rules"]["daily_realized_loss"]["limit"])


def put_toml(daemon: DaemonProcess, text: str, headers: dict[str, str]) -> httpx.Response:
    return call(daemon, "PUT", f"{ADMIN}/config", {**headers, **TOML}, content=text.encode())


def test_get_config_returns_file_text_and_effective_config(daemon: DaemonProcess) -> None:
    data = call(daemon, "GET", f"{ADMIN}/config", login(daemon)).json()["data"]

    assert data["text"] == config_file(daemon)
    assert data["effective"]["accounts"]["SIM-1"]["profile"] == "test"
    assert data["effective"]["profiles"]["test"]["daily_realized_loss"]["limit"] == "100"


def test_put_unknown_key_is_422_naming_it_and_changes_nothing(daemon: DaemonProcess) -> None:
    headers = login(daemon)
    before_file, before_rules = config_file(daemon), daemon.get("/api/v1/rules")
    text = before_file.replace("limit = 100", "limit = 50\nbogus_key = 1")

    response = put_toml(daemon, text, headers)

    assert response.status_code == 422
    assert error_code(response) == "invalid_config"
    assert response.json()["error"]["details"] == ["profiles.test.bogus_key: unknown key"]
    assert config_file(daemon) == before_file
    assert daemon.get("/api/v1/rules") == before_rules


def test_put_lists_every_problem(daemon: DaemonProcess) -> None:
    text = (
        config_file(daemon)
        .replace("limit = 100", "limit = -5")
        .replace("[daemon]", "[daemon]\nfrobnicate = true")
    )

    response = put_toml(daemon, text, login(daemon))

    problems = response.json()["error"]["details"]
    assert response.status_code == 422
    assert "daemon.frobnicate: unknown key" in problems
    assert any(p.startswith("profiles.test.daily_realized_loss.limit:") for p in problems)
    assert all(": " in p for p in problems)


def test_put_toml_syntax_error_is_422(daemon: DaemonProcess) -> None:
    response = put_toml(daemon, "[daemon\nport = ", login(daemon))

    assert response.status_code == 422
    assert "TOML syntax" in response.json()["error"]["message"]


def test_put_valid_profile_change_applies_and_reports_changed_keys(daemon: DaemonProcess) -> None:
    text = config_file(daemon).replace("limit = 100", "limit = 250")

    response = put_toml(daemon, text, login(daemon))

    data = response.json()["data"]
    assert response.status_code == 200, response.text
    assert data["changed"] == ["profiles.test.daily_realized_loss.limit"]
    assert data["applied"] == ["profiles.test.daily_realized_loss.limit"]
    assert data["restart_required"] == []
    assert loss_limit(daemon) == 250
    assert config_file(daemon) == text


def test_put_new_rule_takes_effect_at_once(daemon: DaemonProcess) -> None:
    text = config_file(daemon) + "\n[profiles.test.max_contracts]\nlimit = 1\n"
    put_toml(daemon, text, login(daemon))

    daemon.order("buy", 3)

    assert "max_contracts" in daemon.get("/api/v1/rules")["SIM-1"]["rules"]
    records = daemon.get(f"{ACCOUNT}/enforcement")["records"]
    assert any("max_contracts" in r["rules"] for r in records)


def test_put_restart_only_change_is_written_but_not_applied(daemon: DaemonProcess) -> None:
    text = (
        config_file(daemon)
        .replace('name = "Test account"', 'name = "Renamed"')
        .replace("limit = 100", "limit = 300")
        .replace("[accounts.SIM-1]", '[accounts.SIM-2]\nprofile = "test"\n\n[accounts.SIM-1]')
    )

    data = put_toml(daemon, text, login(daemon)).json()["data"]

    assert data["restart_required"] == ["accounts.SIM-1.name", "accounts.SIM-2"]
    assert data["applied"] == ["profiles.test.daily_realized_loss.limit"]
    assert loss_limit(daemon) == 300
    assert [a["account_id"] for a in daemon.get("/api/v1/accounts")] == ["SIM-1"]
    assert 'name = "Renamed"' in config_file(daemon)


def test_put_json_object_is_validated_written_as_toml_and_applied(daemon: DaemonProcess) -> None:
    headers = login(daemon)
    current = call(daemon, "GET", f"{ADMIN}/config", headers).json()["data"]["text"]
    document = tomllib.loads(current)
    document["profiles"]["test"]["daily_realized_loss"]["limit"] = 175

    response = call(daemon, "PUT", f"{ADMIN}/config", headers, json=document)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["changed"] == ["profiles.test.daily_realized_loss.limit"]
    assert tomllib.loads(config_file(daemon)) == document
    assert loss_limit(daemon) == 175


def test_put_json_with_unknown_key_is_refused(daemon: DaemonProcess) -> None:
    response = call(daemon, "PUT", f"{ADMIN}/config", login(daemon),
                    json={"profiles": {"p": {"no_such_rule": {}}}})  # fmt: skip

    assert response.status_code == 422
    assert response.json()["error"]["details"] == ["profiles.p.no_such_rule: unknown key"]


@pytest.mark.parametrize("content_type", ["application/xml", "image/png"])
def test_put_other_media_type_is_415(daemon: DaemonProcess, content_type: str) -> None:
    response = call(daemon, "PUT", f"{ADMIN}/config",
                    {**login(daemon), "Content-Type": content_type}, content=b"x")  # fmt: skip

    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


def test_reload_applies_an_edited_file(daemon: DaemonProcess) -> None:
    path = daemon.home / "config" / "risk_manager.toml"
    path.write_text(path.read_text().replace("limit = 100", "limit = 400"))

    response = call(daemon, "POST", f"{ADMIN}/config/reload", login(daemon))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["changed"] == ["profiles.test.daily_realized_loss.limit"]
    assert loss_limit(daemon) == 400


def test_reload_of_a_broken_file_keeps_the_running_config(daemon: DaemonProcess) -> None:
    path = daemon.home / "config" / "risk_manager.toml"
    path.write_text(path.read_text().replace("limit = 100", "limit = 400\ntypo = 1"))

    response = call(daemon, "POST", f"{ADMIN}/config/reload", login(daemon))

    assert response.status_code == 422
    assert "profiles.test.typo: unknown key" in response.json()["error"]["details"]
    assert loss_limit(daemon) == 100


def test_config_changes_leave_audit_records(daemon: DaemonProcess) -> None:
    headers = login(daemon)
    put_toml(daemon, config_file(daemon).replace("limit = 100", "limit = 90"), headers)
    put_toml(daemon, "nonsense = 1", headers)

    reasons = [r["reason"] for r in daemon.get(f"{ACCOUNT}/enforcement")["records"]]

    assert reasons[:2] == ["admin config replace refused", "admin config replace"]
