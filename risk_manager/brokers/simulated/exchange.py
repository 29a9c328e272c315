"""The paper exchange: accounts, orders, fills and positions; pure and synchronous (no I/O).

Every action returns a `Changes`: the rows it touched (for the store to commit) and the events
it produced, in broker order (for the adapter to emit after the commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from risk_manager.brokers.simulated.market import (
    check_order_prices,
    check_price,
    execution_price,
    normalize_symbol,
    opening_price,
)
from risk_manager.domain.contracts import lookup, symbol_root
from risk_manager.domain.events import (
    AccountUpdate,
    Event,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from risk_manager.domain.money import ZERO, apply_fill, cents


class SimOrderError(ValueError):
    """Bad input to the paper exchange: unknown account or symbol, bad quantity, prices or order."""


@dataclass(slots=True)
class SimAccount:
    account_id: str
    name: str
    balance: Decimal
    can_trade: bool = True
    seq: int = 0  # AccountUpdate sequence: gives each update a stable event id


@dataclass(slots=True)
class SimPosition:
    account_id: str
    symbol: str
    size: int = 0
    avg_price: Decimal = ZERO


@dataclass(slots=True)
class SimOrder:
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
    triggered: bool = False  # a stop-limit whose stop was hit now works as a limit
    revision: int = 0  # bumped by each modify so every update has its own event id

    def snapshot(self) -> Order:
        """The order as the normalized, immutable event type."""
        return Order(
            self.order_id,
            self.account_id,
            self.symbol,
            self.side,
            self.type,
            self.quantity,
            self.status,
            self.updated_at,
            self.limit_price,
            self.stop_price,
        )


@dataclass(slots=True)
class Changes:
    """What one action changed: rows to persist, then events to emit, in that order."""

    events: list[Event] = field(default_factory=list)
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    positions: dict[tuple[str, str], SimPosition] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    fills: list[tuple[Fill, Decimal]] = field(default_factory=list)  # (fill, gross realized)
    prices: dict[str, Decimal] = field(default_factory=dict)
    next_order_id: int | None = None
    next_fill_id: int | None = None


@dataclass(slots=True)
class Snapshot:
    """The persisted state an exchange is rebuilt from."""

    accounts: list[SimAccount] = field(default_factory=list)
    positions: list[SimPosition] = field(default_factory=list)
    orders: list[SimOrder] = field(default_factory=list)  # working orders, oldest first
    fills: list[Fill] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)  # in listing order
    next_order_id: int = 1
    next_fill_id: int = 1


class PaperExchange:
    """Matches orders against one price per symbol and keeps accounts, positions and fills."""

    def __init__(
        self,
        *,
        fees: Mapping[str, Decimal] | None = None,
        prices: Mapping[str, Decimal] | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        snap = snapshot or Snapshot()
        self._fees = {root.strip().upper(): fee for root, fee in (fees or {}).items()}
        self._configured_prices = dict(prices or {})
        self._accounts = {account.account_id: account for account in snap.accounts}
        self._positions = {(p.account_id, p.symbol): p for p in snap.positions}
        self._working = {order.order_id: order for order in snap.orders}
        # Orders that ended in this run (not persisted: after a restart they read as unknown).
        self._ended: dict[str, SimOrder] = {}
        self._fills: dict[str, list[Fill]] = {}
        for fill in snap.fills:
            self._fills.setdefault(fill.account_id, []).append(fill)
        self._prices = dict(snap.prices)
        self._next_order_id = snap.next_order_id
        self._next_fill_id = snap.next_fill_id

    def account(self, account_id: str) -> SimAccount:
        """The live account record; SimOrderError if unknown."""
        try:
            return self._accounts[account_id]
        except KeyError:
            raise SimOrderError(f"unknown account {account_id!r}") from None

    def price(self, symbol: str) -> Decimal | None:
        """The current price of a symbol, or None while it has none."""
        return self._prices.get(symbol.strip().upper())

    def prices(self) -> dict[str, Decimal]:
        """Every listed symbol's price, in listing order."""
        return dict(self._prices)

    def position_size(self, account_id: str, symbol: str) -> int:
        """Signed size of one position (0 when flat)."""
        position = self._positions.get((account_id, symbol.strip().upper()))
        return position.size if position else 0

    def positions(self, account_id: str) -> list[SimPosition]:
        """The account's open (non-flat) positions."""
        return [p for (acc, _), p in self._positions.items() if acc == account_id and p.size]

    def working_orders(self, account_id: str) -> list[Order]:
        """The account's working orders, oldest first."""
        return [o.snapshot() for o in self._working.values() if o.account_id == account_id]

    def order(self, account_id: str, order_id: str) -> Order | None:
        """A working order, or one that ended in this run; None if unknown."""
        order = self._working.get(order_id) or self._ended.get(order_id)
        return order.snapshot() if order is not None and order.account_id == account_id else None

    def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        """The account's fills at or after `since`, in fill order."""
        return [f for f in self._fills.get(account_id, ()) if f.ts >= since]

    def fee_per_side(self, symbol: str) -> Decimal:
        """Commission per contract per side: the configured one for the root, else the table's."""
        return self._fees.get(symbol_root(symbol), lookup(symbol).fee_per_side)

    def add_account(self, account_id: str, name: str, balance: Decimal) -> Changes:
        """Open an account with `balance` and trading allowed, unless it already exists."""
        changes = Changes()
        if account_id not in self._accounts:
            account = SimAccount(account_id, name, balance)
            self._accounts[account_id] = changes.accounts[account_id] = account
        return changes

    def list_symbol(self, symbol: str, now: datetime) -> Changes:
        """Give a symbol its opening price if it has none yet (a listed symbol is walked)."""
        changes = Changes()
        self._ensure_price(normalize_symbol(symbol), now, changes)
        return changes

    def set_prices(self, updates: Mapping[str, Decimal], now: datetime) -> Changes:
        """Move prices; each emits a Quote, then triggers that symbol's working orders."""
        checked = {normalize_symbol(s): check_price(s, p) for s, p in updates.items()}
        changes = Changes()  # all prices are checked first, so a bad one changes nothing
        for symbol, price in checked.items():
            self._prices[symbol] = changes.prices[symbol] = price
            changes.events.append(Quote(symbol, now, last=price))
            for order in [o for o in self._working.values() if o.symbol == symbol]:
                self._try_execute(order, price, now, changes, on_entry=False)
        return changes

    def set_can_trade(self, account_id: str, can_trade: bool, now: datetime) -> Changes:
        """Allow or forbid new exposure on an account (a prop-firm lock)."""
        changes = Changes()
        account = self.account(account_id)
        account.can_trade = can_trade
        changes.events.append(self._account_update(account, now, changes))
        return changes

    def submit(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        now: datetime,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> tuple[Order, Changes]:
        """Fill, rest or reject (locked account adding exposure) an order; SimOrderError if bad."""
        account = self.account(account_id)
        try:
            symbol = normalize_symbol(symbol)
            side, order_type = Side(side), OrderType(order_type)
            prices = check_order_prices(symbol, order_type, limit_price, stop_price)
        except ValueError as exc:
            raise SimOrderError(str(exc)) from None
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise SimOrderError(f"quantity must be a positive whole number, got {quantity!r}")
        changes = Changes()
        price = self._ensure_price(symbol, now, changes)
        order = SimOrder(
            str(self._next_order_id),
            account_id,
            symbol,
            side,
            order_type,
            quantity,
            OrderStatus.WORKING,
            now,
            *prices,
        )
        self._next_order_id += 1
        changes.next_order_id = self._next_order_id
        changes.orders[order.order_id] = order
        if not account.can_trade and self._adds_exposure(order):
            order.status = OrderStatus.REJECTED
            self._ended[order.order_id] = order
            changes.events.append(self._order_update(order))
            return order.snapshot(), changes
        self._working[order.order_id] = order
        changes.events.append(self._order_update(order))
        self._try_execute(order, price, now, changes, on_entry=True)
        return order.snapshot(), changes

    def cancel(self, account_id: str, order_id: str, now: datetime) -> tuple[Order, Changes]:
        """Cancel a working order of the account; SimOrderError if there is none by that id."""
        order = self._working_order(account_id, order_id)
        changes = Changes()
        self._finish(order, OrderStatus.CANCELLED, now, changes)
        return order.snapshot(), changes

    def modify_stop(
        self, account_id: str, order_id: str, stop_price: Decimal, now: datetime
    ) -> tuple[Order, Changes]:
        """Move the stop of a working stop order; it triggers at once if already through."""
        order = self._working_order(account_id, order_id)
        if order.type not in (OrderType.STOP, OrderType.STOP_LIMIT) or order.triggered:
            raise SimOrderError(f"order {order_id} is a {order.type.value} order: no stop to move")
        try:
            order.stop_price = check_price(order.symbol, stop_price)
        except ValueError as exc:
            raise SimOrderError(str(exc)) from None
        order.revision += 1
        order.updated_at = now
        changes = Changes(orders={order.order_id: order})
        changes.events.append(self._order_update(order))
        price = self._prices[order.symbol]
        self._try_execute(order, price, now, changes, on_entry=True)
        return order.snapshot(), changes

    def _try_execute(
        self, order: SimOrder, price: Decimal, now: datetime, changes: Changes, *, on_entry: bool
    ) -> None:
        fill_price, triggered = execution_price(
            order.side,
            order.type,
            price,
            order.limit_price,
            order.stop_price,
            triggered=order.triggered,
            on_entry=on_entry,
        )
        if triggered != order.triggered:
            order.triggered = True
            changes.orders[order.order_id] = order
        if fill_price is None:
            return
        if not self._accounts[order.account_id].can_trade and self._adds_exposure(order):
            # A locked account's resting entry order is cancelled rather than filled.
            self._finish(order, OrderStatus.CANCELLED, now, changes)
            return
        self._fill(order, fill_price, now, changes)

    def _fill(self, order: SimOrder, price: Decimal, now: datetime, changes: Changes) -> None:
        key = (order.account_id, order.symbol)
        position = self._positions.setdefault(key, SimPosition(order.account_id, order.symbol))
        signed = order.quantity * int(order.side)
        outcome = apply_fill(lookup(order.symbol), position.size, position.avg_price, signed, price)
        position.size, position.avg_price = outcome.size, outcome.avg_price
        fee = cents(self.fee_per_side(order.symbol) * order.quantity)
        account = self._accounts[order.account_id]
        account.balance = account.balance + outcome.realized - fee
        fill_id = self._next_fill_id
        self._next_fill_id += 1
        fill = Fill(
            f"fill:{fill_id}",
            order.account_id,
            now,
            order.symbol,
            order.side,
            order.quantity,
            price,
            fee,
            order.order_id,
        )
        self._fills.setdefault(order.account_id, []).append(fill)
        changes.positions[key] = position
        changes.fills.append((fill, outcome.realized))
        changes.next_fill_id = self._next_fill_id
        changes.events.append(fill)
        self._finish(order, OrderStatus.FILLED, now, changes)
        changes.events.append(self._account_update(account, now, changes))

    def _ensure_price(self, symbol: str, now: datetime, changes: Changes) -> Decimal:
        price = self._prices.get(symbol)
        if price is None:
            price = opening_price(symbol, self._configured_prices)
            self._prices[symbol] = changes.prices[symbol] = price
            changes.events.append(Quote(symbol, now, last=price))
        return price

    def _working_order(self, account_id: str, order_id: str) -> SimOrder:
        order = self._working.get(str(order_id))
        if order is None or order.account_id != account_id:
            raise SimOrderError(f"no working order {order_id} on account {account_id}")
        return order

    def _adds_exposure(self, order: SimOrder) -> bool:
        size = self.position_size(order.account_id, order.symbol)
        signed = order.quantity * int(order.side)
        return size == 0 or (size > 0) == (signed > 0) or abs(signed) > abs(size)

    def _finish(
        self, order: SimOrder, status: OrderStatus, now: datetime, changes: Changes
    ) -> None:
        order.status = status
        order.updated_at = now
        self._working.pop(order.order_id, None)
        self._ended[order.order_id] = order
        changes.orders[order.order_id] = order
        changes.events.append(self._order_update(order))

    @staticmethod
    def _order_update(order: SimOrder) -> OrderUpdate:
        modified = order.revision and order.status is OrderStatus.WORKING
        suffix = f":{order.revision}" if modified else ""
        return OrderUpdate(f"order:{order.order_id}:{order.status.value}{suffix}", order.snapshot())

    @staticmethod
    def _account_update(account: SimAccount, now: datetime, changes: Changes) -> AccountUpdate:
        account.seq += 1
        changes.accounts[account.account_id] = account
        return AccountUpdate(
            f"account:{account.account_id}:{account.seq}",
            account.account_id,
            now,
            account.balance,
            account.can_trade,
        )
