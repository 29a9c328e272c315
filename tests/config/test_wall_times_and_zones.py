"""Wall times (the daily reset, session windows) and time zones: only what start-up can use.

A reset time given as a number was read as seconds after midnight UTC, and one with a UTC
offset was accepted and then crashed every start (an aware time compared with a naive one); a
zone naming a tzdata folder ("America") answered 500 at reload and a traceback at start.
"""

from __future__ import annotations

from datetime import UTC, time
from typing import Any

import pytest

import risk_manager.brokers  # noqa: F401  (registers the broker kinds)
from risk_manager.config import ConfigError, parse_config

BASE: dict[str, Any] = {"accounts": {"A": {"profile": "p"}}, "profiles": {"p": {}}}


def _window(start: Any) -> dict[str, Any]:
    rule = {"windows": [{"start": start, "end": "16:00"}]}
    return {**BASE, "profiles": {"p": {"session_block_outside": rule}}}


@pytest.mark.parametrize(
    "value", [0, 61200, 1.5, True, "17:00Z", "17:00+02:00", time(17, 0, tzinfo=UTC)]
)
def test_a_reset_time_that_is_a_number_or_has_an_offset_is_refused(value: Any) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "trading_day": {"reset_time": value}})

    (problem,) = error.value.problems
    assert problem.startswith("trading_day.reset_time:"), problem


@pytest.mark.parametrize("value", [0, "09:30Z"])
def test_a_session_window_time_that_is_a_number_or_has_an_offset_is_refused(value: Any) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(_window(value))

    problem = error.value.problems[0]
    assert problem.startswith("profiles.p.session_block_outside.windows.0.start:"), problem


def test_wall_times_as_toml_times_or_text_pass() -> None:
    config = parse_config({**BASE, "trading_day": {"reset_time": time(16, 30)}})
    assert config.trading_day.reset_time == time(16, 30)
    config = parse_config({**BASE, "trading_day": {"reset_time": "16:30"}})
    assert config.trading_day.reset_time == time(16, 30)
    assert parse_config(_window("09:30")).profiles["p"].session_block_outside is not None


@pytest.mark.parametrize("zone", ["America", "a" * 3000, "Etc", "../../etc/passwd", ""])
def test_a_zone_that_is_no_zone_file_is_a_config_error(zone: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "trading_day": {"timezone": zone}})

    (problem,) = error.value.problems
    assert problem.startswith("trading_day.timezone: unknown time zone"), problem
    rule = {"timezone": zone, "windows": [{"start": "09:30", "end": "16:00"}]}
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "profiles": {"p": {"session_block_outside": rule}}})
    assert "unknown time zone" in error.value.problems[0]
