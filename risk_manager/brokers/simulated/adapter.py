"""`SimulatedBroker`: the paper exchange behind the Broker protocol, persisted like a real broker.

Each action is committed to the simulator's own SQLite file before its events are emitted, so a
daemon killed mid-stream finds the broker as it really is and reconciles from it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fastapi import APIRouter
from loguru import logger

from risk_manager.brokers.base import (
    AccountInfo,
    BrokerPosition,
    BrokerResult,
    BrokerUnavailable,
    EventSink,
)
from risk_manager.brokers.simulated.config import SimulatedBrokerConfig
from risk_manager.brokers.simulated.exchange import Changes, PaperExchange, SimOrderError
from risk_manager.brokers.simulated.market import (
    RandomWalk,
    check_price,
    normalize_symbol,
    run_walk,
)
from risk_manager.brokers.simulated.store import SimStore
from risk_manager.clock import Clock
from risk_manager.domain.contracts import ContractSpec, lookup
from risk_manager.domain.events import (
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

# errorCode values of the simulator's broker-style replies.
ERROR_INVALID = 1  # bad request: unknown order, bad quantity or price
ERROR_TRADING_DISABLED = 2  # canTrade is false and the order would add exposure
ERROR_NO_POSITION = 3  # nothing to close


def _ok(order_id: str, **fields: object) -> BrokerResult:
    raw = {"success": True, "errorCode": 0, "errorMessage": None, "orderId": order_id, **fields}
    return BrokerResult(True, order_id, None, raw)


def _refused(code: int, message: str, order_id: str | None = None) -> BrokerResult:
    raw = {"success": False, "errorCode": code, "errorMessage": message, "orderId": order_id}
    return BrokerResult(False, order_id, message, raw)


class SimulatedBroker:
    """The embedded default broker: a seeded paper exchange that needs no credentials."""

    kind = "simulated"

    def __init__(
        self,
        config: SimulatedBrokerConfig,
        accounts: list[tuple[str, str]],
        db_path: Path,
        clock: Clock,
    ) -> None:
        self._config = config
        self._clock = clock
        self._account_ids = list(dict.fromkeys(account_id for account_id, _ in accounts))
        self._store = SimStore(db_path)
        self._exchange = PaperExchange(
            fees=config.fees, prices=config.prices, snapshot=self._store.load()
        )
        self._sink: EventSink | None = None
        self._link_up = True
        self._closed = False
        self._walk_task: asyncio.Task[None] | None = None
        for account_id, name in accounts:
            self._apply(self._exchange.add_account(account_id, name, config.starting_balance))
        for symbol in config.symbols:
            self._apply(self._exchange.list_symbol(symbol, clock.now()))

    # Broker protocol: streaming.

    async def connect(self, sink: EventSink) -> None:
        """Start streaming into `sink`: a ConnectionChange, a Quote per symbol, then live events."""
        self._check_link()
        self._sink = sink
        now = self._clock.now()
        quotes = [Quote(s, now, last=p) for s, p in self._exchange.prices().items()]
        self._emit([ConnectionChange(now, True, "connected"), *quotes])
        if self._config.market == "random_walk" and self._walk_task is None:
            interval_s = self._config.tick_interval_ms / 1000
            walk = run_walk(
                RandomWalk(self._config.seed), interval_s, self._exchange.prices, self._walk_step
            )
            self._walk_task = asyncio.create_task(walk, name="simulated-market")

    async def close(self) -> None:
        """Stop the market and the stream, and close the simulator's database."""
        if self._walk_task is not None:
            self._walk_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._walk_task
            self._walk_task = None
        self._sink = None
        if not self._closed:
            self._closed = True
            self._store.close()

    # Broker protocol: reads.

    async def accounts(self) -> list[AccountInfo]:
        """The configured accounts."""
        self._check_link()
        return [self._info(account_id) for account_id in self._account_ids]

    async def account_info(self, account_id: str) -> AccountInfo:
        """Balance and canTrade of one account; BrokerError if unknown."""
        self._check_link()
        try:
            return self._info(account_id)
        except SimOrderError as exc:
            raise BrokerUnavailable(str(exc)) from None

    async def open_positions(self, account_id: str) -> list[BrokerPosition]:
        """The account's non-flat positions."""
        self._check_link()
        return [
            BrokerPosition(p.account_id, p.symbol, p.size, p.avg_price)
            for p in self._exchange.positions(account_id)
        ]

    async def open_orders(self, account_id: str) -> list[Order]:
        """The account's working orders, oldest first."""
        self._check_link()
        return self._exchange.working_orders(account_id)

    async def order_status(self, account_id: str, order_id: str) -> Order | None:
        """One order of this run or still working, in its current status."""
        self._check_link()
        return self._exchange.order(account_id, order_id)

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        """Fills at or after `since`, in fill order."""
        self._check_link()
        return self._exchange.fills_since(account_id, since)

    def contract_spec(self, symbol: str) -> ContractSpec:
        """The built-in contract table's spec (the simulator has no other source)."""
        return lookup(symbol)

    # Broker protocol: actions.

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult:
        """Market order for the opposite side of the whole position; refused when flat."""
        self._check_link()
        return self._reduce(account_id, symbol, None)

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult:
        """Market order for `quantity` contracts against the position; refused beyond its size."""
        self._check_link()
        return self._reduce(account_id, symbol, quantity)

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult:
        """Cancel a working order; refused when no such order is working."""
        self._check_link()
        try:
            order, changes = self._exchange.cancel(account_id, order_id, self._clock.now())
        except SimOrderError as exc:
            return _refused(ERROR_INVALID, str(exc))
        self._apply(changes)
        return _ok(order.order_id)

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
        """Place an order; the reply carries its orderId (also when refused for canTrade)."""
        self._check_link()
        try:
            order = self.submit_order(
                account_id, symbol, side, quantity, order_type, limit_price, stop_price
            )
        except SimOrderError as exc:
            return _refused(ERROR_INVALID, str(exc))
        return self._order_reply(order)

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult:
        """Move a working stop order's stop price."""
        self._check_link()
        if stop_price is None:
            return _refused(ERROR_INVALID, "nothing to modify: give a stop price")
        try:
            order, changes = self._exchange.modify_stop(
                account_id, order_id, stop_price, self._clock.now()
            )
        except SimOrderError as exc:
            return _refused(ERROR_INVALID, str(exc))
        self._apply(changes)
        return _ok(order.order_id, status=order.status.value)

    # ClockProvider: the daemon runs on this clock, which the test controls may move.

    def clock(self) -> Clock:
        """The clock the simulator stamps its events with."""
        return self._clock

    # RouteProvider: the platform stand-in (place orders, move prices) and the test controls.

    def api_routers(self) -> list[APIRouter]:
        """The `/api/v1/sim` routes; the test controls only with `test_controls = true`."""
        from risk_manager.brokers.simulated import routes  # the routes import this module

        return [routes.router, routes.controls] if self._config.test_controls else [routes.router]

    # Simulator controls (sim API routes and tests); they work while the link is down.

    def submit_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order:
        """Trade as the trader would on the platform; SimOrderError on bad input."""
        self._check_open()
        order, changes = self._exchange.submit(
            account_id,
            symbol,
            side,
            quantity,
            order_type,
            self._clock.now(),
            limit_price=limit_price,
            stop_price=stop_price,
        )
        self._apply(changes)
        return order

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move a symbol's price (emits a Quote, triggers orders); ValueError if off the grid."""
        self._check_open()
        price = check_price(symbol, price)
        self._apply(self._exchange.set_prices({normalize_symbol(symbol): price}, self._clock.now()))

    def set_can_trade(self, account_id: str, can_trade: bool) -> None:
        """Lock or unlock an account at the broker (emits an AccountUpdate)."""
        self._check_open()
        self._apply(self._exchange.set_can_trade(account_id, can_trade, self._clock.now()))

    def set_connected(self, connected: bool) -> None:
        """Simulate a link outage: while down, broker calls raise and events are not delivered."""
        if connected == self._link_up:
            return
        change = ConnectionChange(
            self._clock.now(), connected, "link restored" if connected else "simulated outage"
        )
        # The loss is announced before the link drops; events during the outage are lost to
        # the daemon, which must reconcile from fills_since / open_positions afterwards.
        self._link_up = True
        self._emit([change])
        self._link_up = connected

    def report_foreign(self, event: Fill | OrderUpdate | Quote) -> None:
        """Deliver an event the exchange did not make, e.g. for a contract it does not list,
        as a real broker may (test controls: the daemon must survive what it cannot price)."""
        self._check_open()
        self._emit([event])

    def price(self, symbol: str) -> Decimal | None:
        """The symbol's current price, or None if it has none yet."""
        return self._exchange.price(symbol)

    # Internals.

    def _reduce(self, account_id: str, symbol: str, quantity: int | None) -> BrokerResult:
        try:
            self._exchange.account(account_id)
        except SimOrderError as exc:
            return _refused(ERROR_INVALID, str(exc))
        size = self._exchange.position_size(account_id, symbol)
        if size == 0:
            return _refused(ERROR_NO_POSITION, f"no open position in {symbol}")
        if quantity is None:
            quantity = abs(size)
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return _refused(ERROR_INVALID, f"quantity must be a positive whole number: {quantity}")
        elif quantity > abs(size):
            return _refused(ERROR_INVALID, f"quantity {quantity} exceeds the position ({size})")
        side = Side.SELL if size > 0 else Side.BUY
        order = self.submit_order(account_id, symbol, side, quantity, OrderType.MARKET)
        return self._order_reply(order)

    def _order_reply(self, order: Order) -> BrokerResult:
        if order.status is OrderStatus.REJECTED:
            return _refused(
                ERROR_TRADING_DISABLED,
                f"account {order.account_id} cannot trade: the order would add exposure",
                order.order_id,
            )
        return _ok(order.order_id, status=order.status.value)

    def _info(self, account_id: str) -> AccountInfo:
        account = self._exchange.account(account_id)
        return AccountInfo(account.account_id, account.name, account.balance, account.can_trade)

    def _walk_step(self, prices: dict[str, Decimal]) -> None:
        if not self._closed:
            self._apply(self._exchange.set_prices(prices, self._clock.now()))

    def _apply(self, changes: Changes) -> None:
        # Commit first: an emitted event must never describe state the broker could lose.
        self._store.commit(changes)
        self._emit(changes.events)

    def _emit(self, events: list[Event]) -> None:
        sink = self._sink
        if sink is None or not self._link_up:
            return
        for event in events:
            try:
                sink(event)
            except Exception:
                # The broker's state is committed either way; a failing consumer is its own bug.
                logger.exception("event sink failed on {}", type(event).__name__)

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerUnavailable("the simulated broker is closed")

    def _check_link(self) -> None:
        self._check_open()
        if not self._link_up:
            raise BrokerUnavailable("simulated broker is disconnected")
