"""docs/configuration.md's rule table names each parameter's default first: check it against
the parameter models, so the table cannot drift from what a rule does when a key is left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from risk_manager.rules.params import Profile
from risk_manager.rules.registry import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(\w+)` \| (.*) \|$", re.MULTILINE)
# `key` ("a" / "b") — the first choice is the default; `key` (true) / (false) likewise.
CHOICES = re.compile(r'`(\w+)` \(("[^"]*"(?: / "[^"]*")+|true|false)\)')


def _documented() -> list[tuple[str, str, str]]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    return [
        (rule, key, listed)
        for rule, params in rows
        if rule in RULES
        for key, listed in CHOICES.findall(params)
    ]


def _first(listed: str) -> Any:
    if listed in ("true", "false"):
        return listed == "true"
    return listed.split(" / ")[0].strip('"')


def test_the_table_lists_choices_for_the_new_loss_rules() -> None:
    keys = {(rule, key) for rule, key, _ in _documented()}
    assert {("trailing_daily_loss", "action"), ("trailing_drawdown", "permanent")} <= keys


@pytest.mark.parametrize(("rule", "key", "listed"), _documented())
def test_the_first_documented_choice_is_the_default(rule: str, key: str, listed: str) -> None:
    annotation = Profile.model_fields[rule].annotation  # `Model | None`
    model = next(arg for arg in get_args(annotation) if arg is not type(None))
    assert issubclass(model, BaseModel)
    field = model.model_fields[key]
    assert field.default == _first(listed), f"{rule}.{key}: docs list {listed}"
