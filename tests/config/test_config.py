"""Config validation: every problem reported as file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk_manager.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "risk_manager.example.toml"


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "test.toml")
    return caught.value.problems


def test_the_shipped_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.profile_for("SIM-1").enabled()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"daemon": {"prot": 1}}, "daemon.prot: unknown key"),
        ({"profiles": {"p": {"max_contracts": {"limit": 1, "lmit": 2}}}},
         "profiles.p.max_contracts.lmit: unknown key"),
        ({"profiles": {"p": {"daily_realized_loss": {"limit": -5}}}},
         "profiles.p.daily_realized_loss.limit: Input should be greater than 0"),
        ({"trading_day": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
        ({"profiles": {"p": {"max_contracts_per_instrument": {"limits": {"XYZ": 1}}}}},
         "unknown symbol 'XYZ'"),
        ({"profiles": {"p": {"cooldown_after_loss": {"tiers": [
            {"loss": 100, "minutes": 10}, {"loss": 200, "minutes": 5}]}}}}, "tiers overlap"),
        ({"accounts": {"A": {"profile": "missing"}}}, "no profile named 'missing'"),
        ({"daemon": {"host": "0.0.0.0"}}, "not a loopback address"),
        ({"broker": {"kind": "nope"}}, "broker: unknown broker kind"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key_and_reason(data: dict, expected: str) -> None:
    assert any(expected in problem for problem in problems(data)), problems(data)


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"daemon": {"a": 1, "b": 2}, "trading_day": {"c": 3}})
    assert len(found) == 3


def test_remote_bind_is_allowed_only_when_asked() -> None:
    config = parse_config({"daemon": {"host": "0.0.0.0", "allow_remote": True}})
    assert config.daemon.host == "0.0.0.0"


def test_toml_syntax_error_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[daemon\nport = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in caught.value.render()
    assert "TOML syntax" in caught.value.problems[0]


def test_missing_file_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path / "absent.toml")


def test_disabled_rule_keeps_its_settings_but_is_off() -> None:
    config = parse_config({"profiles": {"p": {"max_contracts": {"limit": 3, "enabled": False}}},
                           "accounts": {"A": {"profile": "p"}}})  # fmt: skip
    assert config.profile_for("A").max_contracts is not None
    assert config.profile_for("A").enabled() == {}
