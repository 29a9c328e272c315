"""Rules 3, 4, 5 and 13: daily realized loss / profit, unrealized loss / profit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from risk_manager.rules.base import Action, ActionKind, LockoutEnd, QuoteTrigger, Trigger
from risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from risk_manager.rules.daily_realized_profit import DailyRealizedProfitRule
from risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from risk_manager.rules.params import (
    DailyRealizedLoss,
    DailyRealizedProfit,
    DailyUnrealizedLoss,
    MaxUnrealizedProfit,
)
from tests.rules.conftest import D, book, make_ctx, position

RESET = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 17:00 CDT on Tuesday 10 March 2026


def loss_rule(limit: str = "100", *, unrealized: bool = False) -> DailyRealizedLossRule:
    return DailyRealizedLossRule(DailyRealizedLoss(limit=D(limit), include_unrealized=unrealized))


def test_realized_loss_one_cent_short_of_limit_then_quiet() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000"), fees="0.01")
    # Sell 1 MNQ 49.5 points lower: -99.00 gross, fees 0.99 in total → -99.99 net.
    assert loss_rule().evaluate(ctx, book(ctx, "MNQH6", -1, "20950.50", fee="0.98")) == []


def test_realized_loss_exactly_at_limit_then_flattens_until_reset() -> None:
    ctx = make_ctx(position("MNQH6", 1, "21000"), fees="0.02")
    (violation,) = loss_rule().evaluate(ctx, book(ctx, "MNQH6", -1, "20950.50", fee="0.98"))
    assert violation.actions == (Action(ActionKind.FLATTEN),)
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.DAILY_RESET
    assert violation.lockout.until == RESET
    assert violation.trigger["realized"] == "-100.00"
    assert violation.reason == "daily realized loss -$100.00 reached the -$100.00 limit"


def test_realized_loss_short_position_closed_higher() -> None:
    ctx = make_ctx(position("ESH6", -1, "5000"))
    (violation,) = loss_rule().evaluate(ctx, book(ctx, "ESH6", 1, "5002.25", fee="1.40"))
    assert violation.trigger["realized"] == "-113.90"


def test_realized_loss_with_unrealized_on_quote() -> None:
    rule = loss_rule(unrealized=True)
    assert Trigger.QUOTE in rule.triggers
    held = position("MNQH6", 2, "21000", price="20990")  # -40.00 open
    ctx = make_ctx(held, realized="-60", fees="0")
    (violation,) = rule.evaluate(ctx, QuoteTrigger("MNQH6", D("20990")))
    assert violation.trigger == {"realized": "-60", "unrealized": "-40.00", "limit": "100"}


def test_realized_loss_without_unrealized_ignores_quotes() -> None:
    assert loss_rule().triggers == frozenset({Trigger.FILL})


def test_unrealized_position_scope_closes_that_symbol_only() -> None:
    rule = DailyUnrealizedLossRule(DailyUnrealizedLoss(limit=D("40")))
    ctx = make_ctx(
        position("MNQH6", 2, "21000", price="20990"), position("ESH6", 1, "5000", price="4990")
    )
    (violation,) = rule.evaluate(ctx, QuoteTrigger("MNQH6", D("20990")))
    assert violation.actions == (Action(ActionKind.CLOSE, "MNQH6"),)
    assert violation.lockout is None


def test_unrealized_position_scope_one_tick_short_then_quiet() -> None:
    rule = DailyUnrealizedLossRule(DailyUnrealizedLoss(limit=D("40")))
    ctx = make_ctx(position("MNQH6", 2, "21000", price="20990.25"))
    assert rule.evaluate(ctx, QuoteTrigger("MNQH6", D("20990.25"))) == []


def test_unrealized_total_scope_flattens_with_optional_lockout() -> None:
    rule = DailyUnrealizedLossRule(DailyUnrealizedLoss(limit=D("100"), scope="total", lockout=True))
    ctx = make_ctx(
        position("MNQH6", -2, "21000", price="21030"), position("ESH6", 1, "5000", price="4999")
    )
    (violation,) = rule.evaluate(ctx, QuoteTrigger("ESH6", D("4999")))
    assert violation.actions == (Action(ActionKind.FLATTEN),)
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.DAILY_RESET


def test_unrealized_profit_at_target_closes_short() -> None:
    rule = MaxUnrealizedProfitRule(MaxUnrealizedProfit(target=D("50")))
    ctx = make_ctx(position("NQH6", -1, "21000", price="20997.50"))
    (violation,) = rule.evaluate(ctx, QuoteTrigger("NQH6", D("20997.50")))
    assert violation.actions == (Action(ActionKind.CLOSE, "NQH6"),)
    assert violation.trigger["unrealized"] == "50.00"


def test_unrealized_profit_below_target_then_quiet() -> None:
    rule = MaxUnrealizedProfitRule(MaxUnrealizedProfit(target=D("50")))
    ctx = make_ctx(position("NQH6", -1, "21000", price="20997.75"))
    assert rule.evaluate(ctx, QuoteTrigger("NQH6", D("20997.75"))) == []


def test_realized_profit_at_target_then_flattens_and_locks_until_reset() -> None:
    rule = DailyRealizedProfitRule(DailyRealizedProfit(target=D("200")))
    ctx = make_ctx(position("ESH6", 1, "5000"), realized="0")
    assert rule.evaluate(ctx, book(ctx, "ESH6", -1, "5003.75", fee="0.01")) == []  # 187.49
    ctx = make_ctx(position("ESH6", 1, "5000"))
    (violation,) = rule.evaluate(ctx, book(ctx, "ESH6", -1, "5004", fee="0"))
    assert violation.trigger == {"realized": "200.00", "target": "200"}
    assert violation.lockout is not None
    assert violation.lockout.until == RESET
    assert ctx.account.day.realized_net == Decimal("200.00")
