"""Every number and boolean anywhere in the config schema is strict, finite and bounded.

Walks pydantic's core schema of the whole `Config` (every broker kind, every rule, every
notification channel), so a key added later without bounds or strictness fails here.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

import risk_manager.brokers  # noqa: F401  (registers the broker kinds)
from risk_manager.config import ConfigError, parse_config
from risk_manager.config.models import config_model

Node = tuple[str, dict[str, Any], bool, bool]


def _bound_in(validator: Any) -> bool:
    """Whether a validator node is pydantic's upper-bound check (le / lt)."""
    function = validator.get("function", {}).get("function")
    return isinstance(function, functools.partial) and bool({"le", "lt"} & set(function.keywords))


def _numbers(
    schema: Any, path: str = "", coerced: bool = False, capped: bool = False
) -> list[Node]:
    """(dotted key, schema, strict by a number-only check, capped by an upper bound) for every
    int/float/decimal/bool; the checks pydantic wraps around a type are carried down to it."""
    found: list[Node] = []
    if isinstance(schema, list):
        for item in schema:
            found += _numbers(item, path, coerced, capped)
        return found
    if not isinstance(schema, dict):
        return found
    kind = schema.get("type")
    if kind in ("int", "float", "decimal", "bool"):
        found.append((path, schema, coerced, capped))
    if kind == "function-before":
        coerced = True
    if kind == "function-after" and _bound_in(schema):
        capped = True
    for key, value in schema.items():
        if key in ("serialization", "metadata", "function"):
            continue
        if key == "fields" and kind in ("model-fields", "typed-dict"):
            for name, field in value.items():
                found += _numbers(field, f"{path}.{name}".lstrip("."))
        else:
            found += _numbers(value, path, coerced, capped)
    return found


def test_every_number_is_strict_finite_and_bounded() -> None:
    nodes = _numbers(config_model().__pydantic_core_schema__)
    assert len(nodes) > 40  # the walk found the schema's numbers

    def strict(node: dict[str, Any], coerced: bool) -> bool:
        return bool(node.get("strict")) or (node["type"] == "decimal" and coerced)

    def bounded(node: dict[str, Any], capped: bool) -> bool:
        return node["type"] == "bool" or capped or bool({"le", "lt"} & node.keys())

    loose = [path for path, node, coerced, _ in nodes if not strict(node, coerced)]
    unbounded = [path for path, node, _, capped in nodes if not bounded(node, capped)]
    infinite = [
        path for path, node, _, _ in nodes
        if node["type"] == "float" and node.get("allow_inf_nan", True)
    ]  # fmt: skip
    assert loose == []
    assert unbounded == []
    assert infinite == []


BASE = {"accounts": {"A": {"profile": "p"}}, "profiles": {"p": {"max_contracts": {"limit": 3}}}}


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("daemon", "port", True),
        ("daemon", "port", "5555"),
        ("daemon", "watchdog_seconds", float("inf")),
        ("daemon", "stale_quote_seconds", float("nan")),
        ("daemon", "max_body_bytes", 1e15),
        ("daemon", "max_body_bytes", 10**15),
        ("daemon", "allow_remote", 1),
        ("daemon", "allow_admin_unlock", "false"),
    ],
)
def test_daemon_numbers_and_booleans_are_not_coerced(section: str, key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, section: {key: value}})

    assert any(problem.startswith(f"{section}.{key}:") for problem in error.value.problems)


@pytest.mark.parametrize("value", [True, "3", 3.0, -1, 10**9])
def test_rule_integers_are_strict(value: Any) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "profiles": {"p": {"max_contracts": {"limit": value}}}})

    assert error.value.problems[0].startswith("profiles.p.max_contracts.limit:")


@pytest.mark.parametrize("value", [True, "500", float("inf"), 1e28, 0])
def test_rule_dollar_amounts_are_strict_finite_and_bounded(value: Any) -> None:
    profile = {"daily_realized_loss": {"limit": value}}
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "profiles": {"p": profile}})

    assert error.value.problems[0].startswith("profiles.p.daily_realized_loss.limit:")


def test_real_numbers_still_pass() -> None:
    profile = {"daily_realized_loss": {"limit": 500}, "max_contracts": {"limit": 3}}
    config = parse_config({**BASE, "profiles": {"p": profile}, "daemon": {"watchdog_seconds": 5}})

    assert str(config.profiles["p"].daily_realized_loss.limit) == "500"  # type: ignore[union-attr]
    assert config.daemon.watchdog_seconds == 5.0
