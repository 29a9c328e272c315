"""The replay's broker state: the recorded events applied in order, plus the orders the daemon
sends during the replay, filled at the recorded prices. Pure and synchronous (no I/O).

Balances are the replay's own ledger (starting balance + realized − fees of every fill, the
recorded ones and the replay's), since the daemon's orders change them; recorded account lines
contribute `can_trade`, and one that comes before the account's first fill sets its starting
balance. A recorded order the daemon cancelled no longer exists: its later recorded updates
and fills are dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from risk_manager.brokers.simulated.market import execution_price
from risk_manager.domain.contracts import lookup
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

OWN_PREFIX = "replay-"  # ids of the orders the daemon sends during a replay


class Refused(ValueError):
    """The replay cannot do what was asked (nothing to close, no price yet, unknown order)."""


@dataclass(slots=True)
class _Account:
    name: str
    balance: Decimal
    can_trade: bool = True
    filled: bool = False  # a fill has been applied (later recorded balances are not taken)
    seq: int = 0


@dataclass(slots=True)
class _Position:
    size: int = 0
    avg_price: Decimal = ZERO


@dataclass(slots=True)
class Counts:
    """What the replay did, for its closing notice."""

    played: int = 0  # recorded events pushed to the daemon
    dropped: int = 0  # recorded events of orders the daemon had cancelled
    orders: int = 0  # orders the daemon sent that the replay filled or rested


class ReplayBook:
    """Accounts, positions, orders and fills as the replay's broker knows them."""

    def __init__(self, accounts: list[tuple[str, str]], starting_balance: Decimal) -> None:
        self._accounts = {account_id: _Account(name, starting_balance)
                          for account_id, name in accounts}  # fmt: skip
        self._positions: dict[tuple[str, str], _Position] = {}
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._prices: dict[str, Quote] = {}  # latest quote per symbol
        self._traded: dict[str, Decimal] = {}  # latest fill price per symbol
        self._cancelled: set[str] = set()  # recorded orders the daemon cancelled
        self._ids = itertools.count(1)
        self.counts = Counts()

    # Reads.

    def account_ids(self) -> list[str]:
        return list(self._accounts)

    def account(self, account_id: str) -> tuple[str, Decimal, bool]:
        """(name, balance, can_trade); Refused if unknown."""
        account = self._account(account_id)
        return account.name, account.balance, account.can_trade

    def positions(self, account_id: str) -> list[tuple[str, int, Decimal]]:
        """(symbol, signed size, average price) of the account's open positions."""
        return [(symbol, p.size, p.avg_price) for (acc, symbol), p in self._positions.items()
                if acc == account_id and p.size]  # fmt: skip

    def size(self, account_id: str, symbol: str) -> int:
        position = self._positions.get((account_id, symbol))
        return position.size if position else 0

    def working(self, account_id: str) -> list[Order]:
        return [o for o in self._orders.values()
                if o.account_id == account_id and o.status is OrderStatus.WORKING]  # fmt: skip

    def order(self, account_id: str, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        return order if order is not None and order.account_id == account_id else None

    def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        return [f for f in self._fills if f.account_id == account_id and f.ts >= since]

    # The recording.

    def record(self, event: Event) -> list[Event]:
        """Apply a recorded event; the events the daemon is told (none if it was dropped)."""
        if isinstance(event, Quote):
            self._prices[event.symbol] = event
            return [event, *self._trigger_stops(event)]
        if isinstance(event, Fill):
            if event.order_id in self._cancelled:
                return self._drop()
            return [event, *self._apply_fill(event)]
        if isinstance(event, OrderUpdate):
            if event.order.order_id in self._cancelled:
                return self._drop()
            self._orders[event.order.order_id] = event.order
            return [event]
        if isinstance(event, AccountUpdate):
            account = self._accounts.get(event.account_id)
            if account is None:
                return [event]  # not configured: the daemon ignores it as it would live
            account.can_trade = event.can_trade
            if not account.filled:
                account.balance = event.balance
            return [AccountUpdate(event.event_id, event.account_id, event.ts, account.balance,
                                  account.can_trade)]  # fmt: skip
        return [event]

    # The daemon's orders.

    def submit(self, account_id: str, symbol: str, side: Side, quantity: int,
               order_type: OrderType, now: datetime,
               stop_price: Decimal | None = None) -> tuple[Order, list[Event]]:  # fmt: skip
        """Fill a market order at the recorded price, or rest a stop; Refused if impossible."""
        self._account(account_id)
        if quantity <= 0:
            raise Refused(f"quantity must be positive, got {quantity}")
        if order_type is OrderType.MARKET:
            price = self._price(symbol, side)
        elif order_type is OrderType.STOP and stop_price is not None:
            price = None
        else:
            raise Refused(f"the replay fills market and stop orders only, not {order_type.value}")
        order_id = f"{OWN_PREFIX}{next(self._ids)}"
        order = Order(order_id, account_id, symbol, side, order_type, quantity,
                      OrderStatus.WORKING, now, stop_price=stop_price)  # fmt: skip
        self.counts.orders += 1
        events = self._update(order)
        if price is not None:
            events += self._fill_order(order, price, now)
        return self._orders[order_id], events

    def cancel(self, account_id: str, order_id: str, now: datetime) -> list[Event]:
        """Cancel a working order (recorded or the daemon's); Refused if none is working."""
        order = self.order(account_id, order_id)
        if order is None or order.status is not OrderStatus.WORKING:
            raise Refused(f"no working order {order_id} on account {account_id}")
        if not _ours(order_id):
            self._cancelled.add(order_id)
        return self._update(replace(order, status=OrderStatus.CANCELLED, updated_at=now))

    def modify_stop(self, account_id: str, order_id: str, stop: Decimal,
                    now: datetime) -> list[Event]:  # fmt: skip
        """Move a working stop order's stop price."""
        order = self.order(account_id, order_id)
        if order is None or order.status is not OrderStatus.WORKING:
            raise Refused(f"no working order {order_id} on account {account_id}")
        if order.type is not OrderType.STOP:
            raise Refused(f"order {order_id} is a {order.type.value} order: no stop to move")
        return self._update(replace(order, updated_at=now, stop_price=stop), revision=True)

    # Internals.

    def _account(self, account_id: str) -> _Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise Refused(f"unknown account {account_id!r}") from None

    def _price(self, symbol: str, side: Side) -> Decimal:
        """What a market order gets: the quote's far side, else its mid or last, else the
        latest recorded fill's price."""
        quote = self._prices.get(symbol)
        if quote is not None:
            far = quote.ask if side is Side.BUY else quote.bid
            if (price := far if far is not None else quote.price) is not None:
                return price
        if symbol in self._traded:
            return self._traded[symbol]
        raise Refused(f"no recorded price for {symbol} yet")

    def _trigger_stops(self, quote: Quote) -> list[Event]:
        price = quote.price
        events: list[Event] = []
        if price is None:
            return events
        working = [o for o in self._orders.values() if o.status is OrderStatus.WORKING]
        for order in [o for o in working if o.symbol == quote.symbol and _ours(o.order_id)]:
            # The daemon's working orders here are stops (market ones fill when sent): they
            # trigger and fill as the simulator's do.
            fill_price, _ = execution_price(
                order.side,
                order.type,
                price,
                order.limit_price,
                order.stop_price,
                triggered=False,
                on_entry=False,
            )
            if fill_price is not None:
                events += self._fill_order(order, fill_price, quote.ts)
        return events

    def _fill_order(self, order: Order, price: Decimal, now: datetime) -> list[Event]:
        fee = cents(lookup(order.symbol).fee_per_side * order.quantity)
        fill = Fill(f"replay-fill-{next(self._ids)}", order.account_id, now, order.symbol,
                    order.side, order.quantity, price, fee, order.order_id)  # fmt: skip
        # In the simulator's order: the fill, the order's end, then the balance it moved.
        filled = self._update(replace(order, status=OrderStatus.FILLED, updated_at=now))
        return [fill, *filled, *self._apply_fill(fill)]

    def _apply_fill(self, fill: Fill) -> list[Event]:
        self._traded[fill.symbol] = fill.price
        self._fills.append(fill)
        if fill.voided:
            return []
        position = self._positions.setdefault((fill.account_id, fill.symbol), _Position())
        outcome = apply_fill(lookup(fill.symbol), position.size, position.avg_price,
                             fill.signed_qty, fill.price)  # fmt: skip
        position.size, position.avg_price = outcome.size, outcome.avg_price
        account = self._accounts.get(fill.account_id)
        if account is None:
            return []
        account.filled = True
        account.balance += outcome.realized - fill.fee
        account.seq += 1
        event_id = f"replay-account-{fill.account_id}-{account.seq}"
        return [AccountUpdate(event_id, fill.account_id, fill.ts, account.balance,
                              account.can_trade)]  # fmt: skip

    def _update(self, order: Order, *, revision: bool = False) -> list[Event]:
        self._orders[order.order_id] = order
        suffix = f":{next(self._ids)}" if revision else ""
        return [OrderUpdate(f"replay-order-{order.order_id}:{order.status.value}{suffix}", order)]

    def _drop(self) -> list[Event]:
        self.counts.dropped += 1
        return []


def _ours(order_id: str) -> bool:
    """An order the daemon sent during the replay (not a recorded one)."""
    return order_id.startswith(OWN_PREFIX)
