"""Normalized broker events. Every event but a quote carries a stable id and is applied once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum


class Side(IntEnum):
    BUY = 1
    SELL = -1

    @property
    def label(self) -> str:
        return self.name.lower()


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"

    @property
    def is_protective(self) -> bool:
        """Stop-type orders protect a position (rule 8)."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


class OrderStatus(StrEnum):
    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: int
    status: OrderStatus
    updated_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A market price update; kept in memory only."""

    symbol: str
    ts: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None

    @property
    def price(self) -> Decimal | None:
        """The mid when both sides are known, else the last trade (SPEC §3)."""
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last


@dataclass(frozen=True, slots=True)
class Fill:
    event_id: str
    account_id: str
    ts: datetime
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    fee: Decimal
    order_id: str = ""
    voided: bool = False

    @property
    def signed_qty(self) -> int:
        return self.quantity * int(self.side)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    event_id: str
    order: Order

    @property
    def account_id(self) -> str:
        return self.order.account_id

    @property
    def ts(self) -> datetime:
        return self.order.updated_at


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    event_id: str
    account_id: str
    ts: datetime
    balance: Decimal
    can_trade: bool


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    """The broker link went up or down (applies to every account of the broker)."""

    ts: datetime
    connected: bool
    reason: str = field(default="")


AccountEvent = Fill | OrderUpdate | AccountUpdate
Event = Quote | AccountEvent | ConnectionChange
