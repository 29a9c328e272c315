"""State → JSON: the shapes the API returns (money as numbers rounded to cents)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from risk_manager.domain.events import Order
from risk_manager.domain.money import cents
from risk_manager.state.ledger import AccountState, Position


def money(amount: Decimal) -> float:
    """Dollars as a JSON number rounded to cents."""
    return float(cents(amount))


def position_view(position: Position) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "side": "long" if position.size > 0 else "short",
        "quantity": abs(position.size),
        "size": position.size,
        "avg_price": float(position.avg_price),
        "last_price": None if position.last_price is None else float(position.last_price),
        "unrealized_pnl": money(position.unrealized),
        "opened_at": position.opened_at.isoformat(),
    }


def order_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side.label,
        "type": str(order.type),
        "quantity": order.quantity,
        "limit_price": None if order.limit_price is None else float(order.limit_price),
        "stop_price": None if order.stop_price is None else float(order.stop_price),
        "status": str(order.status),
    }


def pnl_view(account: AccountState) -> dict[str, Any]:
    figures = {name: money(value) for name, value in account.pnl().items()}
    return {"account_id": account.account_id, "trading_day": str(account.day.trading_day),
            "fills": account.day.fills, **figures}  # fmt: skip


def age_text(seconds: float | None) -> str | None:
    """A human age like the brief's "2 seconds ago"."""
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{seconds} second{'s' if seconds != 1 else ''} ago"


def age_seconds(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 3)
