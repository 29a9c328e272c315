"""Pure helpers of the admin service: the JSON→TOML writer and the changed-keys diff."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.config.loader import ConfigError
from risk_manager.config.reload import diff_keys
from risk_manager.config.toml_writer import to_toml

keys = st.text(min_size=1, max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


@given(st.dictionaries(keys, values, max_size=4))
def test_to_toml_round_trips_any_json_object_without_nulls(document: dict[str, Any]) -> None:
    assert tomllib.loads(to_toml(document)) == document


@pytest.mark.parametrize("bad", [None, math.inf])
def test_to_toml_refuses_values_toml_cannot_hold(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"^request body: a\.b: "):
        to_toml({"a": {"b": bad}})


def test_diff_keys_names_the_deepest_changed_key_or_the_added_table() -> None:
    old = {"profiles": {"p": {"limit": 1, "on": True}}, "daemon": {"port": 1}}
    new = {"profiles": {"p": {"limit": 2, "on": True}, "q": {}}, "daemon": {"port": 1}}

    assert diff_keys(old, new) == ["profiles.p.limit", "profiles.q"]
    assert diff_keys(old, old) == []


def test_to_toml_refuses_lone_surrogates() -> None:
    with pytest.raises(ConfigError, match="not valid Unicode"):
        to_toml({"name": "\ud800"})
