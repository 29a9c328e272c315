"""The interface every broker adapter implements, and the values it exchanges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import Event, Fill, Order, OrderType, Side

EventSink = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: str
    name: str
    balance: Decimal
    can_trade: bool


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    account_id: str
    symbol: str
    size: int  # signed: long > 0, short < 0
    avg_price: Decimal


@dataclass(frozen=True, slots=True)
class BrokerResult:
    """What the broker said to an action; `response` is kept verbatim for the enforcement log."""

    ok: bool
    response: dict[str, object]


class BrokerError(Exception):
    """The broker could not be reached or refused a request; worth retrying."""


class Broker(Protocol):
    """A connection to one broker holding one or more accounts."""

    kind: str

    async def connect(self, sink: EventSink) -> None:
        """Connect and start pushing normalized events into `sink` (called on the loop thread)."""

    async def close(self) -> None:
        """Stop streaming and release connections."""

    async def accounts(self) -> list[AccountInfo]:
        """Every account this login can see."""

    async def account_info(self, account_id: str) -> AccountInfo: ...

    async def open_positions(self, account_id: str) -> list[BrokerPosition]: ...

    async def open_orders(self, account_id: str) -> list[Order]: ...

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        """Fills at or after `since`, for reconciling after a restart."""

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult: ...

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult: ...

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult: ...

    async def place_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerResult: ...

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult: ...

    def contract_spec(self, symbol: str) -> ContractSpec:
        """Tick size and value: the broker's when it knows them, else the built-in table."""
