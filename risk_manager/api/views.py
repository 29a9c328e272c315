"""State → JSON: the shapes the API returns (money as numbers rounded to cents)."""

from __future__ import annotations

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
