"""Rules 10, 11 and 14: auth_loss_guard, symbol_blocks and trailing_drawdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
)
from risk_manager.rules.auth_loss_guard import AuthLossGuardRule
from risk_manager.rules.base import (
    Action,
    ActionKind,
    DayEndTrigger,
    LockoutEnd,
    QuoteTrigger,
    RuleContext,
    TradingState,
    Trigger,
    Violation,
)
from risk_manager.rules.params import AuthLossGuard, SymbolBlocks, TrailingDrawdown
from risk_manager.rules.symbol_blocks import SymbolBlocksRule
from risk_manager.rules.trailing_drawdown import (
    TrailingDrawdownRule,
    drawdown_floor,
    drawdown_level,
)
from tests.rules.conftest import ACCOUNT, NOW, D, book, make_ctx, position

GUARD = AuthLossGuardRule(AuthLossGuard())


def update(balance: str, *, can_trade: bool = True) -> AccountUpdate:
    return AccountUpdate("u1", ACCOUNT, NOW, D(balance), can_trade)


def test_can_trade_false_then_critical_alert_and_open_ended_lockout() -> None:
    (violation,) = GUARD.evaluate(make_ctx(), update("50000", can_trade=False))
    assert violation.critical
    assert violation.actions == (Action(ActionKind.ALERT),)
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.CAN_TRADE
    assert violation.lockout.until is None


def test_can_trade_true_then_quiet() -> None:
    assert GUARD.evaluate(make_ctx(), update("50000")) == []


def test_connection_lost_then_alert_only_never_flatten() -> None:
    ctx = make_ctx(position("ESH6", 1, "5000"))
    (violation,) = GUARD.evaluate(ctx, ConnectionChange(NOW, connected=False, reason="hub closed"))
    assert violation.actions == (Action(ActionKind.ALERT),)
    assert violation.lockout is None
    assert "hub closed" in violation.reason
    assert GUARD.evaluate(ctx, ConnectionChange(NOW, connected=True)) == []


BLOCKS = SymbolBlocksRule(SymbolBlocks(symbols=("ES", "CL")))


def working(symbol: str, status: OrderStatus = OrderStatus.WORKING) -> OrderUpdate:
    order = Order("o9", ACCOUNT, symbol, Side.BUY, OrderType.LIMIT, 1, status, NOW, D("1"))
    return OrderUpdate("e9", order)


def test_fill_in_blocked_root_then_close_cancel_and_symbol_lockout() -> None:
    ctx = make_ctx()
    (violation,) = BLOCKS.evaluate(ctx, book(ctx, "ESH6", 1, "5000"))
    assert violation.actions == (
        Action(ActionKind.CLOSE, "ESH6"),
        Action(ActionKind.CANCEL, "ESH6"),
    )
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.CONFIG_CHANGE
    assert violation.lockout.symbol == "ES"


def test_blocking_es_does_not_block_mes() -> None:
    ctx = make_ctx()
    assert BLOCKS.evaluate(ctx, book(ctx, "MESH6", 1, "5000")) == []
    assert BLOCKS.evaluate(ctx, working("MCLK6")) == []


def test_working_order_in_blocked_root_then_cancelled() -> None:
    (violation,) = BLOCKS.evaluate(make_ctx(), working("CON.F.US.CL.K26"))
    assert violation.actions == (Action(ActionKind.CANCEL, "CON.F.US.CL.K26"),)
    assert BLOCKS.evaluate(make_ctx(), working("CLK6", OrderStatus.CANCELLED)) == []


def drawdown(**extra: object) -> TrailingDrawdownRule:
    params = {"max_loss": D("2000"), "starting_balance": D("50000"), **extra}
    return TrailingDrawdownRule(TrailingDrawdown(**params))  # type: ignore[arg-type]


def day_end(ctx: RuleContext, balance: str) -> list[Violation]:
    ctx.account.balance = D(balance)
    return drawdown().evaluate(ctx, DayEndTrigger(date(2026, 3, 9), D(balance)))


def test_floor_trails_end_of_day_highs_but_stops_at_starting_balance() -> None:
    assert drawdown_floor(D("50000"), D("2000"), D("50000")) == D("48000")
    assert drawdown_floor(D("51500"), D("2000"), D("50000")) == D("49500")
    assert drawdown_floor(D("60000"), D("2000"), D("50000")) == D("50000")


def test_end_of_day_mode_moves_floor_only_at_day_end_but_checks_value_always() -> None:
    rule = drawdown()
    assert rule.triggers >= {Trigger.QUOTE, Trigger.FILL, Trigger.ACCOUNT, Trigger.DAY_END}
    held = position("ESH6", 1, "5000", price="5020")  # +1000.00 open
    ctx = make_ctx(held, balance="51000")
    assert rule.evaluate(ctx, QuoteTrigger("ESH6", D("5020"))) == []
    assert ctx.rule_state == {}  # intraday highs do not move an end-of-day floor
    assert day_end(ctx, "51500") == []
    assert ctx.rule_state == {"high_water": "51500"}  # floor 49500
    ctx.account.balance = D("50000")
    held.mark(D("4990.25"))  # -487.50 open: value 49512.50
    assert rule.evaluate(ctx, QuoteTrigger("ESH6", D("4990.25"))) == []
    held.mark(D("4990"))  # -500.00 open: value 49500.00 = floor (an open loss counts)
    (violation,) = rule.evaluate(ctx, QuoteTrigger("ESH6", D("4990")))
    assert violation.actions == (Action(ActionKind.FLATTEN),)
    assert violation.trigger["floor"] == "49500"
    assert violation.trigger["equity"] == "49500.00"
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.NEVER  # the prop-firm default
    assert violation.lockout.state is TradingState.HALTED


def test_non_permanent_breach_restarts_from_the_reset_balance() -> None:
    rule = drawdown(permanent=False)
    ctx = make_ctx(balance="48000")
    (violation,) = rule.evaluate(ctx, update("48000"))  # floor 48000 reached
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.DAILY_RESET
    assert ctx.rule_state["breached"] is True
    # The reset finds 47990: the new floor is 47990 - 2000 = 45990, not the old 48000.
    assert rule.evaluate(ctx, DayEndTrigger(date(2026, 3, 9), D("47990"))) == []
    assert ctx.rule_state == {"start": "47990", "high_water": "47990"}
    assert drawdown_level(rule.params, ctx.rule_state).floor == D("45990")
    ctx.account.balance = D("45990.01")
    assert rule.evaluate(ctx, update("45990.01")) == []
    ctx.account.balance = D("45990")
    (again,) = rule.evaluate(ctx, update("45990"))
    assert again.trigger["floor"] == "45990"


def test_value_counts_a_closed_trade_before_the_broker_balance_follows() -> None:
    # A winning close books +600 before the balance update: the value must not dip by 600.
    rule = drawdown(mode="intraday", max_loss=D("500"))
    ctx = make_ctx(position("MNQH6", 1, "21000", price="21300"), balance="50000")
    ctx.account.realized_in_balance = D(0)  # the broker's last balance had no PnL of today
    assert rule.evaluate(ctx, QuoteTrigger("MNQH6", D("21300"))) == []
    assert ctx.rule_state == {"high_water": "50600.00"}  # floor 50000 (capped at the start)
    trigger = book(ctx, "MNQH6", -1, "21300")
    assert ctx.account.equity == D("50600")
    assert rule.evaluate(ctx, trigger) == []


def test_floor_capped_at_starting_balance_after_big_days() -> None:
    rule = drawdown(permanent=True)
    ctx = make_ctx(rule_state={"high_water": "58000"})
    ctx.account.balance = D("50000")
    (violation,) = rule.evaluate(ctx, update("50000"))
    assert violation.trigger["floor"] == "50000"
    assert violation.lockout is not None
    assert violation.lockout.end is LockoutEnd.NEVER


def test_intraday_mode_tracks_equity_on_quotes() -> None:
    rule = drawdown(mode="intraday")
    assert Trigger.QUOTE in rule.triggers
    held = position("ESH6", 1, "5000", price="5020")  # +1000.00 open
    ctx = make_ctx(held, balance="50000")
    assert rule.evaluate(ctx, QuoteTrigger("ESH6", D("5020"))) == []
    assert ctx.rule_state == {"high_water": "51000.00"}
    held.mark(D("4980"))  # -1000.00: equity 49000 = floor
    (violation,) = rule.evaluate(ctx, QuoteTrigger("ESH6", D("4980")))
    assert violation.trigger["equity"] == "49000.00"
    assert "value $49,000.00 reached the trailing drawdown floor $49,000.00" in violation.reason


def test_state_survives_json_round_trip() -> None:
    ctx = make_ctx()
    day_end(ctx, "50750.25")
    assert isinstance(ctx.rule_state["high_water"], str)
    assert Decimal(ctx.rule_state["high_water"]) == D("50750.25")
