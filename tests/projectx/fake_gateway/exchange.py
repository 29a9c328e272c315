"""The exchange behind the fake Gateway: accounts, orders, fills, positions and trades.

It speaks Gateway shapes (ints for enums, contract ids, camelCase) and reports every change as
hub pushes `(target, accountId, record)` so the hub layer can route them to subscribers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

BID, ASK = 0, 1
LIMIT, MARKET, STOP_LIMIT, STOP, TRAILING = 1, 2, 3, 4, 5
OPEN, FILLED, CANCELLED, REJECTED = 1, 2, 3, 5
LONG, SHORT = 1, 2

Push = tuple[str, int, dict[str, Any]]  # (target, accountId, record)


@dataclass(frozen=True)
class Contract:
    id: str
    name: str
    description: str
    tick_size: Decimal
    tick_value: Decimal
    fee: Decimal

    @property
    def symbol_id(self) -> str:
        return ".".join(self.id.split(".")[1:4])

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "tickSize": float(self.tick_size), "tickValue": float(self.tick_value),
                "activeContract": True, "symbolId": self.symbol_id}  # fmt: skip


CONTRACTS = {
    c.id: c
    for c in (
        Contract("CON.F.US.EP.Z25", "ESZ5", "E-mini S&P 500", Decimal("0.25"), Decimal("12.5"),
                 Decimal("1.40")),
        Contract("CON.F.US.MNQ.Z25", "MNQZ5", "Micro E-mini Nasdaq-100", Decimal("0.25"),
                 Decimal("0.5"), Decimal("0.37")),
        Contract("CON.F.US.ENQ.Z25", "NQZ5", "E-mini Nasdaq-100", Decimal("0.25"), Decimal("5"),
                 Decimal("1.40")),
        Contract("CON.F.US.MES.Z25", "MESZ5", "Micro E-mini S&P 500", Decimal("0.25"),
                 Decimal("1.25"), Decimal("0.37")),
        # A product the daemon's built-in table does not know: only searchById can price it.
        Contract("CON.F.US.ZZX.Z25", "ZZXZ5", "Exotic test product", Decimal("0.5"),
                 Decimal("7"), Decimal("0.50")),
    )
}  # fmt: skip


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Account:
    id: int
    name: str
    balance: Decimal
    can_trade: bool = True

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "balance": float(self.balance),
                "canTrade": self.can_trade, "isVisible": True, "simulated": True}  # fmt: skip


@dataclass
class Order:
    id: int
    account_id: int
    contract_id: str
    type: int
    side: int
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: int = OPEN
    fill_volume: int = 0
    filled_price: Decimal | None = None
    custom_tag: str | None = None
    brackets: dict[str, int] = field(default_factory=dict)  # "stop"/"target" → ticks
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)

    def record(self) -> dict[str, Any]:
        def num(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        return {"id": self.id, "accountId": self.account_id, "contractId": self.contract_id,
                "symbolId": CONTRACTS[self.contract_id].symbol_id,
                "creationTimestamp": self.created, "updateTimestamp": self.updated,
                "status": self.status, "type": self.type, "side": self.side, "size": self.size,
                "limitPrice": num(self.limit_price), "stopPrice": num(self.stop_price),
                "fillVolume": self.fill_volume, "filledPrice": num(self.filled_price),
                "customTag": self.custom_tag}  # fmt: skip


@dataclass
class Position:
    id: int
    account_id: int
    contract_id: str
    size: int = 0  # signed
    avg: Decimal = Decimal(0)
    created: str = field(default_factory=now_iso)

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "accountId": self.account_id, "contractId": self.contract_id,
                "creationTimestamp": self.created, "type": LONG if self.size >= 0 else SHORT,
                "size": abs(self.size), "averagePrice": float(self.avg)}  # fmt: skip


class ExchangeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Exchange:
    """Single-threaded: the fake's event loop is its only caller."""

    def __init__(self, push: Callable[[list[Push]], None]) -> None:
        self.push = push
        self.accounts: dict[int, Account] = {}
        self.prices: dict[str, Decimal] = {}
        self.orders: dict[int, Order] = {}
        self.positions: dict[tuple[int, str], Position] = {}
        self.trades: list[dict[str, Any]] = []
        # Every position size a fill left, in order: tests check a close never went beyond.
        self.history: list[tuple[int, str, int]] = []
        self._ids = itertools.count(7_000_000_001)  # beyond int32: ids are int64

    def add_account(self, account_id: int, name: str, balance: Decimal) -> Account:
        self.accounts[account_id] = Account(account_id, name, balance)
        return self.accounts[account_id]

    def account(self, account_id: Any) -> Account:
        if isinstance(account_id, bool) or not isinstance(account_id, int):
            raise ExchangeError(1, "AccountNotFound")
        if account_id not in self.accounts:
            raise ExchangeError(1, "AccountNotFound")
        return self.accounts[account_id]

    def contract(self, contract_id: Any) -> Contract:
        if contract_id not in CONTRACTS:
            raise ExchangeError(3, "ContractNotFound")
        return CONTRACTS[contract_id]

    def open_positions(self, account_id: int) -> list[Position]:
        return [p for (a, _), p in self.positions.items() if a == account_id and p.size]

    def working(self, account_id: int) -> list[Order]:
        return [o for o in self.orders.values() if o.account_id == account_id and o.status == OPEN]

    def position_size(self, account_id: int, contract_id: str) -> int:
        position = self.positions.get((account_id, contract_id))
        return position.size if position else 0

    # Orders.

    def place(self, account_id: int, contract_id: str, type_: int, side: int, size: int,
              limit: Decimal | None = None, stop: Decimal | None = None,
              tag: str | None = None, brackets: dict[str, int] | None = None) -> Order:  # fmt: skip
        account = self.account(account_id)
        self.contract(contract_id)
        if (
            side not in (BID, ASK)
            or isinstance(size, bool)
            or not isinstance(size, int)
            or size < 1
        ):
            raise ExchangeError(2, "invalid side or size")
        if type_ not in (LIMIT, MARKET, STOP_LIMIT, STOP, TRAILING):
            raise ExchangeError(2, "unsupported order type")
        if tag is not None and any(o.custom_tag == tag for o in self.orders.values()
                                   if o.account_id == account_id):  # fmt: skip
            raise ExchangeError(2, "customTag must be unique per account")
        signed = size if side == BID else -size
        held = self.position_size(account_id, contract_id)
        if not account.can_trade and abs(held + signed) > abs(held):
            raise ExchangeError(2, "account cannot trade")
        order = Order(next(self._ids), account_id, contract_id, type_, side, size, limit, stop,
                      custom_tag=tag, brackets=brackets or {})  # fmt: skip
        self.orders[order.id] = order
        self.push([("GatewayUserOrder", account_id, order.record())])
        return order

    def cancel(self, account_id: int, order_id: Any) -> None:
        self.account(account_id)
        order = self.orders.get(order_id) if isinstance(order_id, int) else None
        if order is None or order.account_id != account_id or order.status != OPEN:
            raise ExchangeError(2, "OrderNotFound")
        order.status, order.updated = CANCELLED, now_iso()
        self.push([("GatewayUserOrder", account_id, order.record())])

    def triggered(self, contract_id: str) -> list[Order]:
        """Working orders that the current price executes (market orders always)."""
        price = self.prices.get(contract_id)
        return [
            order
            for order in self.orders.values()
            if order.status == OPEN
            and order.contract_id == contract_id
            and (order.type == MARKET or (price is not None and _reached(order, price)))
        ]

    def fill(self, order: Order) -> None:
        """Execute a working order in full at the market (a limit at its price or better)."""
        if order.status != OPEN:
            return
        price = self.prices.get(order.contract_id)
        if price is None:
            raise ExchangeError(7, "no market price")
        if order.type == LIMIT and order.limit_price is not None:
            price = order.limit_price
        contract = CONTRACTS[order.contract_id]
        account = self.accounts[order.account_id]
        signed = order.size if order.side == BID else -order.size
        key = (order.account_id, order.contract_id)
        position = self.positions.get(key)
        if position is None or position.size == 0:
            position = Position(next(self._ids), order.account_id, order.contract_id)
            self.positions[key] = position
        pnl: Decimal | None = None
        held = position.size
        if held and (held > 0) != (signed > 0):  # closes some or all of the position
            closing = min(abs(held), abs(signed))
            points = (price - position.avg) * (1 if held > 0 else -1)
            pnl = points / contract.tick_size * contract.tick_value * closing
        new = held + signed
        if held == 0 or ((held > 0) != (new > 0) and new != 0):
            position.avg = price  # opened, or flipped through flat
        elif abs(new) > abs(held):
            position.avg = (position.avg * abs(held) + price * abs(signed)) / abs(new)
        position.size = new
        self.history.append((order.account_id, order.contract_id, new))
        fees = contract.fee * order.size
        account.balance += (pnl or Decimal(0)) - fees
        order.status, order.fill_volume, order.filled_price = FILLED, order.size, price
        order.updated = now_iso()
        trade = {"id": next(self._ids), "accountId": order.account_id,
                 "contractId": order.contract_id, "creationTimestamp": order.updated,
                 "price": float(price), "profitAndLoss": None if pnl is None else float(pnl),
                 "fees": float(fees), "side": order.side, "size": order.size, "voided": False,
                 "orderId": order.id}  # fmt: skip
        self.trades.append(trade)
        record = position.record()
        pushes: list[Push] = [
            ("GatewayUserOrder", order.account_id, order.record()),
            ("GatewayUserTrade", order.account_id, trade),
            ("GatewayUserPosition", order.account_id, record),
            ("GatewayUserAccount", order.account_id, account.record()),
        ]
        self.push(pushes)
        self._bracket_children(order, price)

    def _bracket_children(self, parent: Order, price: Decimal) -> None:
        tick = CONTRACTS[parent.contract_id].tick_size
        opposite = ASK if parent.side == BID else BID
        direction = 1 if parent.side == BID else -1
        if ticks := parent.brackets.get("stop"):
            self.place(parent.account_id, parent.contract_id, STOP, opposite, parent.size,
                       stop=price - direction * ticks * tick)  # fmt: skip
        if ticks := parent.brackets.get("target"):
            self.place(parent.account_id, parent.contract_id, LIMIT, opposite, parent.size,
                       limit=price + direction * ticks * tick)  # fmt: skip

    def close_order(self, account_id: int, contract_id: str, size: int | None) -> Order:
        """closeContract / partialCloseContract: a market order against the position."""
        self.account(account_id)
        self.contract(contract_id)
        held = self.position_size(account_id, contract_id)
        if held == 0:
            raise ExchangeError(2, "PositionNotFound")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or not 0 < size <= abs(held)):  # fmt: skip
            raise ExchangeError(5, "InvalidCloseSize")
        side = ASK if held > 0 else BID
        if any(o.type == MARKET and o.side == side for o in self.working(account_id)
               if o.contract_id == contract_id):  # fmt: skip
            raise ExchangeError(6, "OrderPending")  # a close is already on its way
        return self.place(account_id, contract_id, MARKET, side, size or abs(held))

    def set_can_trade(self, account_id: int, can_trade: bool) -> None:
        account = self.account(account_id)
        account.can_trade = can_trade
        self.push([("GatewayUserAccount", account_id, account.record())])


def _reached(order: Order, price: Decimal) -> bool:
    """A resting order whose limit or stop the price has reached."""
    buy = order.side == BID
    if order.type == LIMIT and order.limit_price is not None:
        return price <= order.limit_price if buy else price >= order.limit_price
    if order.stop_price is not None:
        return price >= order.stop_price if buy else price <= order.stop_price
    return False
