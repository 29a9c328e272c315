"""The registry: every rule of SPEC §4, named after its TOML table, built per profile."""

from __future__ import annotations

from decimal import Decimal

from risk_manager.rules.base import Trigger
from risk_manager.rules.params import (
    DailyRealizedLoss,
    MaxContracts,
    Profile,
    SymbolBlocks,
)
from risk_manager.rules.registry import RULES, build_rules


def test_registry_lists_all_rules_in_spec_order() -> None:
    assert list(RULES) == list(Profile.model_fields)
    assert len(RULES) == 14
    for name, rule in RULES.items():
        assert rule.name == name
        assert "Release" in (rule.__doc__ or "")


def test_build_rules_instantiates_enabled_rules_only() -> None:
    profile = Profile(
        max_contracts=MaxContracts(limit=2, enabled=False),
        daily_realized_loss=DailyRealizedLoss(limit=Decimal(500), include_unrealized=True),
        symbol_blocks=SymbolBlocks(symbols=("ES",)),
    )
    rules = build_rules(profile)
    assert [rule.name for rule in rules] == ["daily_realized_loss", "symbol_blocks"]
    assert rules[0].triggers == frozenset({Trigger.FILL, Trigger.QUOTE})
    assert build_rules(Profile()) == []
