"""A broker double that behaves like a real, remote one: slow, lossy and sometimes refusing.

- Market orders are acknowledged at once (working) and fill `fill_delay` seconds later, at the
  position *then* (so a duplicate close really does flip the position, as at a real broker).
- `position_lag` makes `open_positions` answer the positions of that many seconds ago.
- `faults` is a script consumed by successive actions (close, partial close, cancel, place,
  modify): "ok", "lose_ack" (acts, then OutcomeUnknown), "500" (acts, then OutcomeUnknown),
  "429" (does not act, OutcomeUnknown), "429_acted" (acts, then answers 429: OutcomeUnknown),
  "unavailable" (does not act), "reject" (OrderRejected),
  "refuse" (BrokerResult ok=False), "auth" (BrokerAuthFailed), "hang" (acts, then no reply for
  `HANG_S`, then OutcomeUnknown: a request in flight when the daemon is killed).
- `anonymous_closes` answers a close without naming its order (like ProjectX's closeContract):
  the order shows only on the event stream.
- Every event (order updates, fills) is pushed to the sink, fills when they happen.
- With a `state_file`, the exchange's state (positions, orders, fills still to come, requests)
  is written there after every change and read back by the next instance, so it outlives a
  daemon killed mid-request; fills due while no daemon ran happen when the next one connects.
  Times are `time.monotonic()` (system-wide), so they carry over between processes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from risk_manager.brokers.base import (
    AccountInfo,
    BrokerAuthFailed,
    BrokerPosition,
    BrokerResult,
    BrokerUnavailable,
    EventSink,
    OrderRejected,
    OutcomeUnknown,
)
from risk_manager.domain.contracts import ContractSpec, lookup
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

UNKNOWN = {
    "lose_ack": "timed out",
    "500": "500 Internal Error",
    "429_acted": "429 Too Many Requests",
}
HANG_S = 30.0  # how long a "hang" fault keeps the reply back


@dataclass
class Behaviour:
    """What the double does; change it between (or during) scenarios."""

    fill_delay: Callable[[], float] | float = 0.0
    position_lag: float = 0.0
    faults: list[str] = field(default_factory=list)
    anonymous_closes: bool = False
    connect_failures: int = 0  # connects refused first (a broker away at boot)
    info_delay: float = 0.0  # account_info answers this late (a reconcile that takes long)

    def delay(self) -> float:
        return self.fill_delay() if callable(self.fill_delay) else self.fill_delay


class SlowBroker:
    """An in-memory broker with the protocol of `risk_manager.brokers.base.Broker`."""

    kind = "test_double"

    def __init__(
        self,
        accounts: list[str],
        prices: dict[str, Decimal] | None = None,
        behaviour: Behaviour | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.prices = dict(prices or {"MNQ": Decimal("21000"), "ES": Decimal("6000")})
        self.can_trade = dict.fromkeys(accounts, True)
        self.positions: dict[tuple[str, str], int] = {}
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.calls: list[tuple[str, ...]] = []  # every action request, in order
        # (monotonic time, positions) after every fill: what a lagging position report shows.
        self._history: list[tuple[float, dict[tuple[str, str], int]]] = [(float("-inf"), {})]
        self._last_id = 0
        self._sink: EventSink | None = None
        self._due: dict[str, float] = {}  # fills still to come: order id -> monotonic time
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._state_file = state_file
        if state_file is not None and state_file.exists():
            for name, value in pickle.loads(state_file.read_bytes()).items():
                setattr(self, name, value)

    # -- the exchange's state across daemon restarts ----------------------------------------

    _KEPT = ("positions", "orders", "fills", "calls", "_history", "_last_id", "_due")

    def _save(self) -> None:
        if self._state_file is None:
            return
        state: dict[str, Any] = {name: getattr(self, name) for name in self._KEPT}
        partial = self._state_file.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(state))
        os.replace(partial, self._state_file)  # whole or not at all, even under kill -9

    # -- streaming --------------------------------------------------------------------------

    async def connect(self, sink: EventSink) -> None:
        if self.behaviour.connect_failures > 0:
            self.behaviour.connect_failures -= 1
            raise BrokerUnavailable("connection refused")
        self._sink = sink
        for order_id, due in self._due.items():  # fills a previous instance had scheduled
            self._schedule(order_id, due)
        now = _now()
        self._emit(ConnectionChange(now, True, "connected"))
        for symbol, price in self.prices.items():
            self._emit(Quote(symbol, now, last=price))

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._sink = None

    # -- reads ------------------------------------------------------------------------------

    async def accounts(self) -> list[AccountInfo]:
        return [await self.account_info(a) for a in self.can_trade]

    async def account_info(self, account_id: str) -> AccountInfo:
        await asyncio.sleep(self.behaviour.info_delay)
        if account_id not in self.can_trade:
            raise BrokerUnavailable(f"unknown account {account_id}")
        return AccountInfo(account_id, account_id, Decimal(50000), self.can_trade[account_id])

    async def open_positions(self, account_id: str) -> list[BrokerPosition]:
        seen = self._lagged()
        return [
            BrokerPosition(account, symbol, size, self.prices[symbol])
            for (account, symbol), size in sorted(seen.items())
            if account == account_id and size
        ]

    async def open_orders(self, account_id: str) -> list[Order]:
        return [
            o for o in self.orders.values()
            if o.account_id == account_id and o.status is OrderStatus.WORKING
        ]  # fmt: skip

    async def order_status(self, account_id: str, order_id: str) -> Order | None:
        order = self.orders.get(order_id)
        return order if order is not None and order.account_id == account_id else None

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        return [f for f in self.fills if f.account_id == account_id and f.ts >= since]

    def contract_spec(self, symbol: str) -> ContractSpec:
        return lookup(symbol)

    # -- actions ----------------------------------------------------------------------------

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult:
        size = self.positions.get((account_id, symbol), 0)
        if size == 0:
            return await self._answer("close", account_id, symbol, refusal="no open position")
        side = Side.SELL if size > 0 else Side.BUY
        return await self._answer("close", account_id, symbol, order=(side, abs(size)))

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult:
        size = self.positions.get((account_id, symbol), 0)
        call = ("partial", account_id, symbol, str(quantity))
        if not 0 < quantity <= abs(size):
            refusal = f"quantity {quantity} exceeds the position ({size})"
            return await self._answer(*call, refusal=refusal)
        side = Side.SELL if size > 0 else Side.BUY
        return await self._answer(*call, order=(side, quantity))

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult:
        order = self.orders.get(order_id)
        if order is None or order.status is not OrderStatus.WORKING:
            refusal = "no such working order"
            return await self._answer("cancel", account_id, order_id, refusal=refusal)
        return await self._answer("cancel", account_id, order_id, cancel=order)

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
    ) -> BrokerResult:
        fault = self._fault("place", account_id, symbol)
        order = self._new_order(account_id, symbol, side, quantity, order_type, stop_price)
        return await self._reply(fault, order.order_id)

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult:
        fault = self._fault("modify", account_id, order_id)
        order = self.orders.get(order_id)
        if order is None or order.status is not OrderStatus.WORKING:
            return BrokerResult(False, order_id, "no such working order")
        self._update(replace(order, stop_price=stop_price, updated_at=_now()))
        return await self._reply(fault, order_id)

    # -- the trader's side (tests) ----------------------------------------------------------

    def trade(self, account_id: str, symbol: str, signed_quantity: int) -> None:
        """The trader's market order on the platform: fills at once."""
        side = Side.BUY if signed_quantity > 0 else Side.SELL
        order = self._new_order(account_id, symbol, side, abs(signed_quantity), OrderType.MARKET)
        self._fill(order.order_id)

    def fill(self, order_id: str) -> None:
        """The exchange fills a working order now (a halted market reopening, say)."""
        self._fill(order_id)

    def rest_order(self, account_id: str, symbol: str, side: Side, quantity: int) -> Order:
        """A working limit order of the trader's (never fills by itself)."""
        return self._new_order(account_id, symbol, side, quantity, OrderType.LIMIT)

    def set_can_trade(self, account_id: str, can_trade: bool) -> None:
        self.can_trade[account_id] = can_trade
        now = _now()
        event_id = f"account:{account_id}:{self._next_id()}"
        self._emit(AccountUpdate(event_id, account_id, now, Decimal(50000), can_trade))

    def size(self, account_id: str, symbol: str) -> int:
        """The true position now (no lag)."""
        return self.positions.get((account_id, symbol), 0)

    def idle(self) -> bool:
        """No fill is still scheduled."""
        return not self._timers

    # -- internals --------------------------------------------------------------------------

    def _fault(self, *call: str) -> str:
        self.calls.append(call)
        self._save()
        fault = self.behaviour.faults.pop(0) if self.behaviour.faults else "ok"
        if fault == "unavailable":
            raise BrokerUnavailable("connection refused")
        if fault == "auth":
            raise BrokerAuthFailed("token rejected")
        if fault == "reject":
            raise OrderRejected("rejected by the broker")
        if fault == "429":
            raise OutcomeUnknown("429 Too Many Requests")
        return fault

    async def _answer(
        self,
        *call: str,
        refusal: str | None = None,
        order: tuple[Side, int] | None = None,
        cancel: Order | None = None,
    ) -> BrokerResult:
        fault = self._fault(*call)
        if fault == "refuse":
            refusal = "refused"
        if refusal is not None:  # a refusal means the broker did nothing
            return BrokerResult(False, None, refusal, {"errorMessage": refusal})
        order_id = None
        if order is not None:
            side, quantity = order
            placed = self._new_order(call[1], call[2], side, quantity, OrderType.MARKET)
            order_id = placed.order_id
            self._schedule(order_id, _monotonic() + self.behaviour.delay())
            if self.behaviour.anonymous_closes:
                order_id = None
        if cancel is not None:
            order_id = cancel.order_id
            self._update(replace(cancel, status=OrderStatus.CANCELLED, updated_at=_now()))
        return await self._reply(fault, order_id)

    def _schedule(self, order_id: str, due: float) -> None:
        self._due[order_id] = due
        self._save()
        self._timers[order_id] = asyncio.get_running_loop().call_later(
            max(0.0, due - _monotonic()), self._fill, order_id
        )

    async def _reply(self, fault: str, order_id: str | None) -> BrokerResult:
        if fault == "hang":
            await asyncio.sleep(HANG_S)
            raise OutcomeUnknown("no reply")
        if fault in ("lose_ack", "500", "429_acted"):
            raise OutcomeUnknown(UNKNOWN[fault])
        return BrokerResult(True, order_id, None, {"success": True, "orderId": order_id})

    def _new_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        stop_price: Decimal | None = None,
    ) -> Order:
        order_id = self._next_id()
        order = Order(order_id, account_id, symbol, side, order_type, quantity,
                      OrderStatus.WORKING, _now(), stop_price=stop_price)  # fmt: skip
        self._update(order)
        return order

    def _next_id(self) -> str:
        self._last_id += 1
        return str(self._last_id)

    def _fill(self, order_id: str) -> None:
        self._timers.pop(order_id, None)
        self._due.pop(order_id, None)
        order = self.orders[order_id]
        if order.status is not OrderStatus.WORKING:
            return
        key = (order.account_id, order.symbol)
        self.positions[key] = self.positions.get(key, 0) + order.quantity * int(order.side)
        self._history.append((_monotonic(), dict(self.positions)))
        now = _now()
        price = self.prices[order.symbol]
        fill = Fill(f"fill:{order_id}", order.account_id, now, order.symbol, order.side,
                    order.quantity, price, Decimal("0.37"), order_id)  # fmt: skip
        self.fills.append(fill)
        self._emit(fill)
        self._update(replace(order, status=OrderStatus.FILLED, updated_at=now))

    def _update(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self._save()
        self._emit(OrderUpdate(f"order:{order.order_id}:{order.status.value}", order))

    def _lagged(self) -> dict[tuple[str, str], int]:
        cutoff = _monotonic() - self.behaviour.position_lag
        seen = self._history[0][1]
        for at, positions in self._history:
            if at > cutoff:
                break
            seen = positions
        return seen

    def _emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink(event)


def _now() -> datetime:
    return datetime.now(UTC)


def _monotonic() -> float:
    # System-wide: a state file's times mean the same in the next daemon process.
    return time.monotonic()
