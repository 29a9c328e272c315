"""Builders for rule tests: an account view, positions, orders, fills and a RuleContext."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.domain.contracts import lookup
from risk_manager.domain.events import Fill, Order, OrderStatus, OrderType, Side
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.rules.base import FillTrigger, RuleContext
from risk_manager.state.ledger import AccountState, DayTotals, Position

CHICAGO = ZoneInfo("America/Chicago")
CALENDAR = TradingCalendar(time(17), CHICAGO)
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago
ACCOUNT = "acc-1"


def D(value: str | int) -> Decimal:
    """Decimal shorthand."""
    return Decimal(str(value))


def position(
    symbol: str,
    size: int,
    avg: str | Decimal,
    *,
    opened_at: datetime = NOW,
    price: str | Decimal | None = None,
) -> Position:
    """A position marked at `price` (default: its average price)."""
    held = Position(symbol, lookup(symbol), size, D(avg), opened_at)
    held.mark(D(price) if price is not None else D(avg))
    return held


def stop_order(
    symbol: str,
    side: Side,
    price: str | None,
    *,
    order_id: str = "o1",
    kind: OrderType = OrderType.STOP,
) -> Order:
    """A working stop-type order."""
    return Order(
        order_id, ACCOUNT, symbol, side, kind, 1, OrderStatus.WORKING, NOW,
        stop_price=None if price is None else D(price),
    )  # fmt: skip


def make_ctx(
    *positions: Position,
    now: datetime = NOW,
    realized: str = "0",
    fees: str = "0",
    balance: str = "50000",
    orders: list[Order] | None = None,
    entry_times: list[datetime] | None = None,
    rule_state: dict[str, Any] | None = None,
) -> RuleContext:
    """A RuleContext over an account holding `positions`."""
    day = DayTotals(date(2026, 3, 10), realized_gross=D(realized), fees=D(fees))
    account = AccountState(ACCOUNT, "Test", D(balance), True, day)
    account.positions = {p.symbol: p for p in positions}
    return RuleContext(
        account, now, CALENDAR, lookup, entry_times or [], orders or [],
        rule_state if rule_state is not None else {},
    )  # fmt: skip


def book(ctx: RuleContext, symbol: str, qty: int, price: str, *, ts: datetime = NOW,
         fee: str = "0") -> FillTrigger:  # fmt: skip
    """Book a fill of signed `qty` on the context's account and return its trigger."""
    side = Side.BUY if qty > 0 else Side.SELL
    fill = Fill(
        f"f-{ts.isoformat()}-{symbol}", ACCOUNT, ts, symbol, side, abs(qty), D(price), D(fee)
    )
    effect = ctx.account.apply_fill(fill, lookup(symbol))
    if effect.opened:
        ctx.entry_times.append(ts)
    return FillTrigger(fill, effect)
