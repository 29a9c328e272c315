"""The registry: every rule of SPEC §4, named after its TOML table, built per profile."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from risk_manager.domain.events import AccountUpdate, ConnectionChange, OrderUpdate, Side
from risk_manager.rules.base import DayEndTrigger, QuoteTrigger, TickTrigger, Trigger
from risk_manager.rules.params import (
    DailyRealizedLoss,
    MaxContracts,
    Profile,
    SymbolBlocks,
)
from risk_manager.rules.registry import RULES, build_rules
from tests.rules.conftest import ACCOUNT, NOW, book, make_ctx, position, stop_order


def test_registry_lists_all_rules_in_spec_order() -> None:
    assert list(RULES) == list(Profile.model_fields)
    assert len(RULES) == 16
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


def full_profile() -> Profile:
    """A profile switching on all 16 rules."""
    return Profile.model_validate(
        {
            "max_contracts": {"limit": 2},
            "max_contracts_per_instrument": {"default_limit": 1},
            "daily_realized_loss": {"limit": 100, "include_unrealized": True},
            "daily_unrealized_loss": {"limit": 50, "scope": "total"},
            "max_unrealized_profit": {"target": 500},
            "trade_frequency_limit": {"per_minute": 1, "per_day": 5},
            "cooldown_after_loss": {"tiers": [{"loss": 10, "minutes": 5}]},
            "no_stop_loss_grace": {"grace_seconds": 5},
            "session_block_outside": {"windows": [{"start": "08:30", "end": "15:00"}]},
            "auth_loss_guard": {},
            "symbol_blocks": {"symbols": ["CL"]},
            "trade_management": {"breakeven_trigger_ticks": 4},
            "daily_realized_profit": {"target": 1000},
            "trailing_drawdown": {
                "max_loss": 2000,
                "starting_balance": 50000,
                "mode": "intraday",
            },
            "trailing_daily_loss": {"limit": 500, "trail_from": "realized"},
            "weekly_realized_loss": {"limit": 1500},
        }
    )


def test_every_rule_answers_each_subscribed_trigger() -> None:
    rules = build_rules(full_profile())
    assert len(rules) == 16
    events = {
        Trigger.FILL: lambda ctx: book(ctx, "MNQH6", 1, "21000"),
        Trigger.QUOTE: lambda ctx: QuoteTrigger("ESH6", Decimal("4990")),
        Trigger.ORDER: lambda ctx: OrderUpdate("e", stop_order("ESH6", Side.SELL, "4980")),
        Trigger.ACCOUNT: lambda ctx: AccountUpdate("a", ACCOUNT, NOW, Decimal("47000"), False),
        Trigger.CONNECTION: lambda ctx: ConnectionChange(NOW, connected=False),
        Trigger.TICK: lambda ctx: TickTrigger(),
        Trigger.DAY_END: lambda ctx: DayEndTrigger(NOW.date(), Decimal("47000")),
    }
    for rule in rules:
        for trigger in rule.triggers:
            ctx = make_ctx(position("ESH6", 3, "5000", opened_at=NOW - timedelta(minutes=1)))
            for violation in rule.evaluate(ctx, events[trigger](ctx)):
                assert violation.rule == rule.name
                assert violation.account_id == ACCOUNT
                assert violation.reason
                json.dumps(violation.trigger)  # the enforcement log stores it as JSON
            json.dumps(ctx.rule_state)
