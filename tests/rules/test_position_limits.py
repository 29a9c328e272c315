"""Rules 1–2: max_contracts and max_contracts_per_instrument."""

from __future__ import annotations

from datetime import timedelta

from risk_manager.rules.base import Action, ActionKind, LockoutEnd
from risk_manager.rules.max_contracts import MaxContractsRule
from risk_manager.rules.max_contracts_per_instrument import MaxContractsPerInstrumentRule
from risk_manager.rules.params import MaxContracts, MaxContractsPerInstrument
from tests.rules.conftest import NOW, book, make_ctx, position

EARLY, LATE = NOW - timedelta(minutes=30), NOW - timedelta(minutes=5)


def test_fill_exactly_at_limit_then_no_violation() -> None:
    rule = MaxContractsRule(MaxContracts(limit=3))
    ctx = make_ctx(position("ESH6", 1, "5000", opened_at=EARLY))
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 2, "21000")) == []


def test_fill_beyond_limit_then_reduces_newest_first() -> None:
    rule = MaxContractsRule(MaxContracts(limit=3))
    ctx = make_ctx(
        position("ESH6", 2, "5000", opened_at=EARLY), position("NQH6", -2, "21000", opened_at=LATE)
    )
    (violation,) = rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    assert violation.actions == (
        Action(ActionKind.REDUCE, "MNQH6", quantity=1),
        Action(ActionKind.REDUCE, "NQH6", quantity=1),
    )
    assert violation.lockout is None
    assert violation.trigger["gross"] == 5
    assert "5 open contracts exceed the limit of 3" in violation.reason


def test_add_to_old_position_then_reduces_that_symbol_first() -> None:
    rule = MaxContractsRule(MaxContracts(limit=3))
    ctx = make_ctx(
        position("ESH6", 2, "5000", opened_at=EARLY), position("NQH6", 1, "21000", opened_at=LATE)
    )
    (violation,) = rule.evaluate(ctx, book(ctx, "ESH6", 1, "5001"))
    assert violation.actions == (Action(ActionKind.REDUCE, "ESH6", quantity=1),)


def test_close_all_then_flattens_with_configured_lockout() -> None:
    rule = MaxContractsRule(MaxContracts(limit=1, close_all=True, lockout_minutes=15))
    ctx = make_ctx()
    (violation,) = rule.evaluate(ctx, book(ctx, "MESH6", -2, "5000"))
    assert violation.actions == (Action(ActionKind.FLATTEN),)
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.TIME
    assert violation.lockout.until == NOW + timedelta(minutes=15)


def test_short_positions_count_by_absolute_size() -> None:
    rule = MaxContractsRule(MaxContracts(limit=2))
    ctx = make_ctx(position("ESH6", -2, "5000", opened_at=EARLY))
    (violation,) = rule.evaluate(ctx, book(ctx, "NQH6", -1, "21000"))
    assert violation.actions == (Action(ActionKind.REDUCE, "NQH6", quantity=1),)


def test_per_instrument_limit_exact_then_ok_and_one_more_reduces() -> None:
    rule = MaxContractsPerInstrumentRule(MaxContractsPerInstrument(limits={"MNQ": 2}))
    ctx = make_ctx()
    assert rule.evaluate(ctx, book(ctx, "MNQH6", 2, "21000")) == []
    (violation,) = rule.evaluate(ctx, book(ctx, "MNQH6", 1, "21000"))
    assert violation.actions == (Action(ActionKind.REDUCE, "MNQH6", quantity=1),)
    assert violation.trigger == {"root": "MNQ", "contracts": 3, "limit": 2}


def test_per_instrument_es_limit_does_not_count_mes() -> None:
    rule = MaxContractsPerInstrumentRule(MaxContractsPerInstrument(limits={"ES": 1}))
    ctx = make_ctx(position("ESH6", 1, "5000"))
    assert rule.evaluate(ctx, book(ctx, "MESH6", 5, "5000")) == []


def test_per_instrument_contract_months_of_one_root_add_up() -> None:
    rule = MaxContractsPerInstrumentRule(MaxContractsPerInstrument(default_limit=2))
    ctx = make_ctx(position("MNQH6", -2, "21000", opened_at=EARLY))
    (violation,) = rule.evaluate(ctx, book(ctx, "MNQM6", -1, "21100"))
    assert violation.actions == (Action(ActionKind.REDUCE, "MNQM6", quantity=1),)


def test_per_instrument_unlisted_root_blocked_then_closes() -> None:
    params = MaxContractsPerInstrument(limits={"MNQ": 2}, default_limit=5, block_unlisted=True)
    ctx = make_ctx()
    (violation,) = MaxContractsPerInstrumentRule(params).evaluate(ctx, book(ctx, "CLK6", 1, "70"))
    assert violation.actions == (Action(ActionKind.CLOSE, "CLK6"),)
    assert violation.lockout is None


def test_per_instrument_unlisted_without_default_is_unlimited() -> None:
    rule = MaxContractsPerInstrumentRule(MaxContractsPerInstrument(limits={"MNQ": 2}))
    ctx = make_ctx()
    assert rule.evaluate(ctx, book(ctx, "ESH6", 10, "5000")) == []


def test_per_instrument_reducing_fill_below_limit_then_quiet() -> None:
    rule = MaxContractsPerInstrumentRule(MaxContractsPerInstrument(limits={"MNQ": 2}))
    ctx = make_ctx(position("MNQH6", 4, "21000"))
    assert rule.evaluate(ctx, book(ctx, "MNQH6", -2, "21010")) == []
