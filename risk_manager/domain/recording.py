"""The recording format: normalized broker events as JSON Lines, one event per line.

The daemon writes it (`[daemon] record_events`) and the replay broker reads it, so a trading
day can be played again through other rules. Each line is an object with a `type` and an
aware ISO 8601 `ts`; amounts are written as strings so they stay exact (numbers are accepted
too). See docs/brokers.md for every field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Event,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from risk_manager.domain.strict import MAX_CONTRACTS, StrictBool

Amount = Annotated[Decimal, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_CONTRACTS)]
SideName = Literal["buy", "sell"]


class RecordingError(ValueError):
    """A recording that cannot be played; the message names the file and the line."""


class _Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: AwareDatetime

    @field_validator("ts")
    @classmethod
    def _utc(cls, ts: datetime) -> datetime:
        return ts.astimezone(UTC)


class QuoteLine(_Line):
    type: Literal["quote"]
    symbol: Name
    bid: Amount | None = None
    ask: Amount | None = None
    last: Amount | None = None

    def event(self) -> Quote:
        return Quote(self.symbol, self.ts, self.bid, self.ask, self.last)


class FillLine(_Line):
    type: Literal["fill"]
    id: Name
    account: Name
    symbol: Name
    side: SideName
    quantity: Quantity
    price: Amount
    fee: Amount = Decimal(0)
    order_id: str = ""
    voided: StrictBool = False

    def event(self) -> Fill:
        side = Side[self.side.upper()]
        return Fill(self.id, self.account, self.ts, self.symbol, side, self.quantity,
                    self.price, self.fee, self.order_id, self.voided)  # fmt: skip


class OrderLine(_Line):
    type: Literal["order"]
    id: Name
    order_id: Name
    account: Name
    symbol: Name
    side: SideName
    order_type: OrderType
    quantity: Quantity
    status: OrderStatus
    limit_price: Amount | None = None
    stop_price: Amount | None = None

    def event(self) -> OrderUpdate:
        order = Order(self.order_id, self.account, self.symbol, Side[self.side.upper()],
                      self.order_type, self.quantity, self.status, self.ts, self.limit_price,
                      self.stop_price)  # fmt: skip
        return OrderUpdate(self.id, order)


class AccountLine(_Line):
    type: Literal["account"]
    id: Name
    account: Name
    balance: Amount
    can_trade: StrictBool

    def event(self) -> AccountUpdate:
        return AccountUpdate(self.id, self.account, self.ts, self.balance, self.can_trade)


class ConnectionLine(_Line):
    type: Literal["connection"]
    connected: StrictBool
    reason: str = ""

    def event(self) -> ConnectionChange:
        return ConnectionChange(self.ts, self.connected, self.reason)


_LINE: TypeAdapter[QuoteLine | FillLine | OrderLine | AccountLine | ConnectionLine] = TypeAdapter(
    Annotated[
        QuoteLine | FillLine | OrderLine | AccountLine | ConnectionLine,
        Field(discriminator="type"),
    ]
)


def parse_line(text: str) -> Event:
    """One line as an event; ValueError saying what is wrong with it."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    try:
        return _LINE.validate_python(data).event()
    except ValidationError as error:
        raise ValueError(_describe(error.errors()[0])) from None


def _describe(error: Any) -> str:
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "type: must be one of quote, fill, order, account, connection"
    where = ".".join(str(part) for part in error["loc"][1:])  # [0] is the line's type
    message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{where}: {message}"


Check = Callable[[Event], None]  # raises ValueError for an event a reader cannot use


def read_recording(path: Path, check: Check | None = None) -> list[Event]:
    """Every event of a recording in time order (a stable sort: ties keep file order);
    RecordingError naming the file and line of the first bad one."""
    events = list(_events(path, check))
    events.sort(key=lambda event: event.ts)
    return events


def _events(path: Path, check: Check | None) -> Iterator[Event]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise RecordingError(f"{path}: cannot read the recording: {error.strerror}") from None
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue  # a blank line, e.g. at the end of the file
                try:
                    event = parse_line(text)
                    if check is not None:
                        check(event)
                except ValueError as error:
                    raise RecordingError(f"{path} line {number}: {error}") from None
                yield event
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: not UTF-8 text") from None


def event_line(event: Event) -> str:
    """One event as a line of the recording (no newline)."""
    return json.dumps(_fields(event), separators=(",", ":"), default=_json_default)


def _fields(event: Event) -> dict[str, Any]:
    if isinstance(event, Quote):
        data: dict[str, Any] = {"type": "quote", "ts": event.ts, "symbol": event.symbol}
        for key in ("bid", "ask", "last"):
            if (value := getattr(event, key)) is not None:
                data[key] = value
        return data
    if isinstance(event, Fill):
        return {"type": "fill", "ts": event.ts, "id": event.event_id,
                "account": event.account_id, "symbol": event.symbol, "side": event.side.label,
                "quantity": event.quantity, "price": event.price, "fee": event.fee,
                "order_id": event.order_id, "voided": event.voided}  # fmt: skip
    if isinstance(event, OrderUpdate):
        order = event.order
        data = {"type": "order", "ts": order.updated_at, "id": event.event_id,
                "order_id": order.order_id, "account": order.account_id,
                "symbol": order.symbol, "side": order.side.label, "order_type": order.type,
                "quantity": order.quantity, "status": order.status}  # fmt: skip
        for key in ("limit_price", "stop_price"):
            if (value := getattr(order, key)) is not None:
                data[key] = value
        return data
    if isinstance(event, AccountUpdate):
        return {"type": "account", "ts": event.ts, "id": event.event_id,
                "account": event.account_id, "balance": event.balance,
                "can_trade": event.can_trade}  # fmt: skip
    return {"type": "connection", "ts": event.ts, "connected": event.connected,
            "reason": event.reason}  # fmt: skip


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to a recording")
