"""`ReplayBroker`: a recorded session played through the daemon on recorded time.

It owns the daemon's clock (`ClockProvider`: a `ReplayClock` starting at the first event) and
drives the daemon (`Driver`): each recorded event is pushed at its own time, after every rule
tick that falls before it, and only once the daemon has applied the events before it and
carried out the enforcement they caused. Nothing sleeps, so a day plays in seconds. The
daemon's orders are filled at the recorded prices (`ReplayBook`) and reported back as events,
like a broker's. When the recording ends, time stops at its last event and the daemon keeps
serving.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from loguru import logger

from risk_manager.brokers.base import (
    AccountInfo,
    BrokerPosition,
    BrokerResult,
    BrokerUnavailable,
    EventSink,
    Settle,
)
from risk_manager.brokers.registry import Alert
from risk_manager.brokers.replay.book import Refused, ReplayBook
from risk_manager.clock import Clock, ReplayClock
from risk_manager.domain.contracts import ContractSpec, lookup
from risk_manager.domain.events import (
    ConnectionChange,
    Event,
    Fill,
    Order,
    OrderType,
    Quote,
    Side,
)


def _ok(order: Order) -> BrokerResult:
    raw = {"orderId": order.order_id, "status": order.status.value}
    return BrokerResult(True, order.order_id, None, raw)


def _refused(reason: str) -> BrokerResult:
    return BrokerResult(False, None, reason, {"error": reason})


class ReplayBroker:
    """Plays one recording; answers the daemon from what has been played so far."""

    kind = "replay"

    def __init__(
        self,
        path: Path,
        events: Sequence[Event],
        accounts: Sequence[tuple[str, str]],
        starting_balance: Decimal,
        notice: Alert,
    ) -> None:
        self._path = path
        self._events = events
        self._clock = ReplayClock(events[0].ts)
        self._book = ReplayBook(list(accounts), starting_balance)
        self._notice = notice
        self._sink: EventSink | None = None
        self._closed = False

    # ClockProvider and Driver.

    def clock(self) -> Clock:
        """The replay's clock: the daemon runs on recorded time."""
        return self._clock

    async def drive(self, settle: Settle) -> None:
        """Play every recorded event at its time; then announce that the replay finished."""
        started = time.monotonic()
        first, last = self._events[0].ts, self._events[-1].ts
        logger.info("Replay of {} started: {} events from {} to {}", self._path,
                    len(self._events), first.isoformat(), last.isoformat())  # fmt: skip
        recorded = {
            e.account_id for e in self._events if not isinstance(e, Quote | ConnectionChange)
        }
        if unknown := sorted(recorded - set(self._book.account_ids())):
            # Most likely an account id that differs between the recording and [accounts].
            logger.warning("The recording has events of accounts not in [accounts], which the "
                           "daemon ignores: {}", ", ".join(unknown))  # fmt: skip
        # Events recorded at one instant arrive together, as one broker action's do (an
        # order's acceptance, its fill, the balance): the daemon reacts to the whole burst.
        for instant, burst in itertools.groupby(self._events, key=lambda event: event.ts):
            await self._advance(instant, settle)
            for event in burst:
                self._emit(self._book.record(event))
                self._book.counts.played += 1
            await settle()
        counts = self._book.counts
        message = (
            f"Replay of {self._path.name} finished: {counts.played} recorded events from "
            f"{first.isoformat()} to {last.isoformat()} played in "
            f"{time.monotonic() - started:.2f} s; {counts.orders} order(s) from the daemon, "
            f"{counts.dropped} recorded event(s) of orders it cancelled dropped; "
            "time stays at the last event"
        )
        logger.info(message)
        self._notice("replay_finished", message)

    async def _advance(self, instant: datetime, settle: Settle) -> None:
        """Move time to `instant`, stopping at every sleeper's wake-up on the way (the rule
        tick), so each runs at the recorded second it is due and its enforcement is done."""
        while (wake := self._clock.next_wake()) is not None and wake <= instant:
            self._clock.advance_to(wake)
            await self._clock.settled()
            await settle()
        self._clock.advance_to(instant)

    # Broker protocol: streaming.

    async def connect(self, sink: EventSink) -> None:
        """Start pushing events into `sink` (the recording plays once the daemon drives it)."""
        self._check()
        self._sink = sink
        self._emit([ConnectionChange(self._clock.now(), True, "replay connected")])

    async def close(self) -> None:
        self._sink = None
        self._closed = True

    # Broker protocol: reads (what has been played so far).

    async def accounts(self) -> list[AccountInfo]:
        self._check()
        return [self._info(account_id) for account_id in self._book.account_ids()]

    async def account_info(self, account_id: str) -> AccountInfo:
        self._check()
        try:
            return self._info(account_id)
        except Refused as error:
            raise BrokerUnavailable(str(error)) from None

    async def open_positions(self, account_id: str) -> list[BrokerPosition]:
        self._check()
        return [BrokerPosition(account_id, symbol, size, avg)
                for symbol, size, avg in self._book.positions(account_id)]  # fmt: skip

    async def open_orders(self, account_id: str) -> list[Order]:
        self._check()
        return self._book.working(account_id)

    async def order_status(self, account_id: str, order_id: str) -> Order | None:
        self._check()
        return self._book.order(account_id, order_id)

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        self._check()
        return self._book.fills_since(account_id, since)

    def contract_spec(self, symbol: str) -> ContractSpec:
        """The built-in table's spec (the recording is priced with it)."""
        return lookup(symbol)

    # Broker protocol: actions, filled at the recorded prices.

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult:
        self._check()
        size = self._book.size(account_id, symbol)
        if size == 0:
            return _refused(f"no open position in {symbol}")
        return self._submit(account_id, symbol, _closing(size), abs(size), OrderType.MARKET)

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult:
        self._check()
        size = self._book.size(account_id, symbol)
        if size == 0:
            return _refused(f"no open position in {symbol}")
        if not 0 < quantity <= abs(size):
            return _refused(f"quantity {quantity} does not fit the position ({size})")
        return self._submit(account_id, symbol, _closing(size), quantity, OrderType.MARKET)

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult:
        self._check()
        try:
            events = self._book.cancel(account_id, order_id, self._clock.now())
        except Refused as error:
            return _refused(str(error))
        self._emit(events)
        return BrokerResult(True, order_id, None, {"orderId": order_id, "status": "cancelled"})

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
        self._check()
        if limit_price is not None:
            return _refused("the replay fills market and stop orders only")
        return self._submit(account_id, symbol, side, quantity, order_type, stop_price)

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult:
        self._check()
        if stop_price is None:
            return _refused("nothing to modify: give a stop price")
        try:
            events = self._book.modify_stop(account_id, order_id, stop_price, self._clock.now())
        except Refused as error:
            return _refused(str(error))
        self._emit(events)
        return BrokerResult(True, order_id, None, {"orderId": order_id, "status": "working"})

    # Internals.

    def _submit(
        self, account_id: str, symbol: str, side: Side, quantity: int, order_type: OrderType,
        stop_price: Decimal | None = None,
    ) -> BrokerResult:  # fmt: skip
        try:
            order, events = self._book.submit(account_id, symbol, side, quantity, order_type,
                                              self._clock.now(), stop_price)  # fmt: skip
        except Refused as error:
            return _refused(str(error))
        self._emit(events)
        return _ok(order)

    def _info(self, account_id: str) -> AccountInfo:
        name, balance, can_trade = self._book.account(account_id)
        return AccountInfo(account_id, name, balance, can_trade)

    def _emit(self, events: list[Event]) -> None:
        sink = self._sink
        if sink is None:
            return
        for event in events:
            sink(event)

    def _check(self) -> None:
        if self._closed:
            raise BrokerUnavailable("the replay broker is closed")


def _closing(size: int) -> Side:
    return Side.SELL if size > 0 else Side.BUY
