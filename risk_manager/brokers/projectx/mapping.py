"""Pure translation of Gateway JSON into the daemon's normalized values.

No I/O here. Hub payloads arrive flat (as documented) or wrapped as `{"action": n, "data": {...}}`
(as observed); both are accepted. Anything that does not fit raises `PayloadError`, which the
adapter logs once per kind and skips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any, TypeVar

from risk_manager.brokers.base import AccountInfo, BrokerPosition
from risk_manager.brokers.projectx.symbols import symbol_of
from risk_manager.domain.events import Fill, Order, OrderStatus, OrderType, Quote, Side


class PayloadError(ValueError):
    """A Gateway payload that is malformed or of an unknown shape."""


class GatewaySide(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


class GatewayOrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class GatewayOrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


_ORDER_TYPES = {
    GatewayOrderType.LIMIT: OrderType.LIMIT,
    GatewayOrderType.MARKET: OrderType.MARKET,
    GatewayOrderType.STOP_LIMIT: OrderType.STOP_LIMIT,
    GatewayOrderType.STOP: OrderType.STOP,
    GatewayOrderType.TRAILING_STOP: OrderType.TRAILING_STOP,
    # Join orders rest at the best bid / ask: limit orders for every rule's purpose.
    GatewayOrderType.JOIN_BID: OrderType.LIMIT,
    GatewayOrderType.JOIN_ASK: OrderType.LIMIT,
}
GATEWAY_ORDER_TYPES = {
    OrderType.LIMIT: GatewayOrderType.LIMIT,
    OrderType.MARKET: GatewayOrderType.MARKET,
    OrderType.STOP_LIMIT: GatewayOrderType.STOP_LIMIT,
    OrderType.STOP: GatewayOrderType.STOP,
    OrderType.TRAILING_STOP: GatewayOrderType.TRAILING_STOP,
}
# Pending, pending cancellation and suspended orders can still fill: they count as working.
_ORDER_STATUSES = {
    GatewayOrderStatus.OPEN: OrderStatus.WORKING,
    GatewayOrderStatus.PENDING: OrderStatus.WORKING,
    GatewayOrderStatus.PENDING_CANCELLATION: OrderStatus.WORKING,
    GatewayOrderStatus.SUSPENDED: OrderStatus.WORKING,
    GatewayOrderStatus.FILLED: OrderStatus.FILLED,
    GatewayOrderStatus.CANCELLED: OrderStatus.CANCELLED,
    GatewayOrderStatus.EXPIRED: OrderStatus.CANCELLED,
    GatewayOrderStatus.REJECTED: OrderStatus.REJECTED,
}
_E = TypeVar("_E", bound=IntEnum)
# .NET writes up to 7 fractional digits; Python parses at most 6.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def unwrap(payload: Any) -> dict[str, Any]:
    """The record of a user-hub push, flat or wrapped as `{"action": n, "data": {...}}`."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected an object, got {type(payload).__name__}")
    if "action" in payload and isinstance(payload.get("data"), Mapping):
        return dict(payload["data"])
    return dict(payload)


def side_of(value: Any) -> Side:
    side = _enum(GatewaySide, value, "side")
    return Side.BUY if side is GatewaySide.BID else Side.SELL


def gateway_side(side: Side) -> int:
    return int(GatewaySide.BID if side is Side.BUY else GatewaySide.ASK)


def account_id_of(record: Mapping[str, Any], default: str | None = None) -> str:
    """The Gateway account id as text; incremental updates may omit it (then `default`)."""
    value = record.get("accountId", default)
    if value is None:
        raise PayloadError("no accountId")
    return str(_int(value, "accountId"))


def trade_to_fill(
    record: Mapping[str, Any], account_id: str, received: datetime | None = None
) -> Fill:
    """A `Trade/search` row or `GatewayUserTrade` as a Fill; `account_id` is the daemon's.

    A push without a timestamp is dated `received` (REST rows always carry one)."""
    trade_id = _int(record.get("id"), "id")
    return Fill(
        event_id=f"px:trade:{trade_id}",
        account_id=account_id,
        ts=_stamp(record.get("creationTimestamp"), received),
        symbol=symbol_of(_text(record.get("contractId"), "contractId")),
        side=side_of(record.get("side")),
        quantity=_positive(record.get("size"), "size"),
        price=decimal_field(record.get("price"), "price"),
        fee=decimal_field(record.get("fees", 0) or 0, "fees"),
        order_id=str(record["orderId"]) if record.get("orderId") is not None else "",
        voided=bool(record.get("voided", False)),
    )


def order_from(
    record: Mapping[str, Any], account_id: str, received: datetime | None = None
) -> Order:
    """An order row or `GatewayUserOrder` as an Order; `account_id` is the daemon's."""
    raw_type = _enum(GatewayOrderType, record.get("type"), "type")
    if raw_type not in _ORDER_TYPES:
        raise PayloadError(f"order type {raw_type.name}")
    status = _ORDER_STATUSES.get(_enum(GatewayOrderStatus, record.get("status"), "status"))
    if status is None:
        raise PayloadError("order status None")
    stamp = record.get("updateTimestamp") or record.get("creationTimestamp")
    return Order(
        order_id=str(_int(record.get("id"), "id")),
        account_id=account_id,
        symbol=symbol_of(_text(record.get("contractId"), "contractId")),
        side=side_of(record.get("side")),
        type=_ORDER_TYPES[raw_type],
        quantity=_positive(record.get("size"), "size"),
        status=status,
        updated_at=_stamp(stamp, received),
        limit_price=_optional_decimal(record.get("limitPrice"), "limitPrice"),
        stop_price=_optional_decimal(record.get("stopPrice"), "stopPrice"),
    )


def order_event_id(record: Mapping[str, Any]) -> str:
    """Stable for one state of one order, so a repeated push is applied once."""
    keys = ("id", "status", "size", "fillVolume", "limitPrice", "stopPrice", "updateTimestamp")
    return "px:order:" + ":".join(str(record.get(key)) for key in keys)


@dataclass(frozen=True, slots=True)
class GatewayPosition:
    """A `Position/searchOpen` row or `GatewayUserPosition`: size 0 means closed."""

    account_id: str
    contract_id: str
    size: int  # signed: long > 0, short < 0
    avg_price: Decimal

    def as_broker_position(self, account_id: str) -> BrokerPosition:
        return BrokerPosition(account_id, symbol_of(self.contract_id), self.size, self.avg_price)


def position_from(record: Mapping[str, Any], default_account: str | None = None) -> GatewayPosition:
    size = _int(record.get("size"), "size")
    if size < 0:
        raise PayloadError("negative position size")
    kind = _enum(PositionType, record.get("type", int(PositionType.LONG)), "type")
    if size and kind is PositionType.UNDEFINED:
        raise PayloadError("open position of undefined type")
    avg = record.get("averagePrice")
    return GatewayPosition(
        account_id=account_id_of(record, default_account),
        contract_id=_text(record.get("contractId"), "contractId"),
        size=-size if kind is PositionType.SHORT else size,
        avg_price=Decimal(0) if avg is None and size == 0 else decimal_field(avg, "averagePrice"),
    )


def account_from(record: Mapping[str, Any], account_id: str) -> AccountInfo:
    return AccountInfo(
        account_id=account_id,
        name=str(record.get("name") or account_id),
        balance=decimal_field(record.get("balance"), "balance"),
        can_trade=_bool(record.get("canTrade"), "canTrade"),
    )


def quote_from(contract_id: Any, data: Any, received: datetime) -> Quote | None:
    """A `GatewayQuote(contractId, data)` push; None when it carries no price at all."""
    contract = _text(contract_id, "contractId")
    if not isinstance(data, Mapping):
        raise PayloadError("quote data is not an object")
    bid = _optional_decimal(data.get("bestBid"), "bestBid")
    ask = _optional_decimal(data.get("bestAsk"), "bestAsk")
    last = _optional_decimal(data.get("lastPrice"), "lastPrice")
    if bid is None and ask is None and last is None:
        return None
    try:
        ts = parse_time(data.get("timestamp") or data.get("lastUpdated"))
    except PayloadError:
        ts = received  # a price is worth keeping even when its time is missing or odd
    return Quote(symbol_of(contract), ts, bid=bid, ask=ask, last=last)


def parse_time(value: Any) -> datetime:
    """An ISO 8601 Gateway timestamp as an aware UTC datetime (naive ones are UTC)."""
    text = _text(value, "timestamp").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    except ValueError:
        raise PayloadError(f"bad timestamp {text[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _stamp(value: Any, received: datetime | None) -> datetime:
    if value is None and received is not None:
        return received
    return parse_time(value)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{name} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise PayloadError(f"{name} is not an integer") from None


def _enum(cls: type[_E], value: Any, name: str) -> _E:
    try:
        return cls(_int(value, name))
    except ValueError:
        raise PayloadError(f"{name} {value!r} is not a known {cls.__name__}") from None


def _positive(value: Any, name: str) -> int:
    number = _int(value, name)
    if number <= 0:
        raise PayloadError(f"{name} must be positive")
    return number


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{name} missing")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PayloadError(f"{name} is not a boolean")
    return value


def decimal_field(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(f"{name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(f"{name} is not finite")
    try:
        # Through str(): the float 21000.25 becomes Decimal("21000.25"), not its binary expansion.
        number = Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(f"{name} is not a number") from None
    if not number.is_finite():
        raise PayloadError(f"{name} is not finite")
    return number


def _optional_decimal(value: Any, name: str) -> Decimal | None:
    return None if value is None else decimal_field(value, name)
