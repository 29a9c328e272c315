"""One function per action kind, each safe to run again on a slow or unreliable broker.

The closing steps share one rule (`reduce_to`): before sending, every closing order sent
earlier for the symbol is settled (its final state awaited, its fill seen in the broker's
position), and the next order is planned from the position minus the contracts still being
closed. So a lost reply, a 429 after sending or a fill that arrives late never makes the
executor send the same close twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from risk_manager.brokers.base import Broker, BrokerResult, OutcomeUnknown
from risk_manager.clock import Clock
from risk_manager.domain.events import Order, OrderStatus, OrderType, Side
from risk_manager.enforcement.inflight import OrderBook, Sent
from risk_manager.enforcement.planner import Step
from risk_manager.rules.base import ActionKind


class StepFailed(Exception):
    """The broker did not reach the state the step asked for (yet)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the executor waits on the broker; tests shrink these."""

    stream_grace_s: float = 0.25  # the stream reporting an order final before we ask
    order_final_s: float = 3.0  # a sent order reaching filled / cancelled / rejected
    position_lag_s: float = 2.0  # the broker's positions reflecting a fill it reported
    trust_fill_s: float = 30.0  # how long a fill counts though the position does not show it
    poll_s: float = 0.05  # first pause between two reads while waiting on the broker
    max_poll_s: float = 0.5  # the pause doubles up to this
    rounds: int = 5  # closing rounds in a row in which no close of ours was seen to fill
    retry_delays: tuple[float, ...] = (0.05, 0.2, 0.5)  # after a failed attempt
    slow_retry_s: tuple[float, ...] = (5.0, 15.0, 30.0, 60.0)  # after a failed batch
    stale_send_s: float = 300.0  # a journaled send this old at start is asked for by id only


Record = Callable[[Step, dict[str, object]], None]
# The daemon's own positions, from the event stream: account -> {symbol: signed size}.
Ledger = Callable[[str], dict[str, int]]


def _no_ledger(_account_id: str) -> dict[str, int]:
    return {}


class StepRunner:
    """Runs steps for one account against the broker, journaling every request it sends."""

    def __init__(
        self,
        broker: Broker,
        account_id: str,
        book: OrderBook,
        clock: Clock,
        timing: Timing,
        record: Record,
        ledger: Ledger = _no_ledger,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.account_id = account_id
        self.book = book
        self.clock = clock
        self.timing = timing
        self.record = record
        self.step = Step(ActionKind.ALERT)
        self.closed = 0  # closes seen to fill and reflected in the position

    async def run(self, step: Step) -> None:
        """Carry out one step (StepFailed or a BrokerError when it could not)."""
        self.step = step
        action = _ACTIONS.get(step.kind)
        if action is not None:
            await action(self, step)

    # -- one function per action kind -------------------------------------------------------

    async def flatten(self, step: Step) -> None:
        """Cancel every working order and close every position, until a round finds nothing."""
        for _ in self._rounds():
            await self.cancel_working(None)
            symbols = {
                p.symbol for p in await self.broker.open_positions(self.account_id) if p.size
            }
            symbols |= {symbol for symbol, size in self.ledger(self.account_id).items() if size}
            symbols |= {sent.symbol for sent in self.book.open_sends(self.account_id)}
            if not symbols:
                return
            for symbol in sorted(symbols):
                await self.reduce_to(symbol, 0)
        raise StepFailed("still not flat after repeated closes")

    async def close(self, step: Step) -> None:
        """Cancel the symbol's working orders and close its position."""
        assert step.symbol is not None
        await self.cancel_working(step.symbol)
        await self.reduce_to(step.symbol, 0)

    async def reduce(self, step: Step) -> None:
        """Bring the symbol's position down to `target` contracts (absolute)."""
        assert step.symbol is not None
        assert step.target is not None
        await self.reduce_to(step.symbol, step.target)

    async def cancel(self, step: Step) -> None:
        await self.cancel_working(step.symbol)

    async def place_stop(self, step: Step) -> None:
        assert step.symbol is not None
        assert step.side is not None
        assert step.quantity is not None
        side = Side(step.side)
        for order in await self.broker.open_orders(self.account_id):
            if order.symbol == step.symbol and order.type.is_protective and order.side == side:
                return  # a stop is already there (placed before a crash, or by the trader)
        result = await self.broker.place_order(
            self.account_id, step.symbol, side, step.quantity, OrderType.STOP,
            stop_price=step.price,
        )  # fmt: skip
        self._check(result)

    async def move_stop(self, step: Step) -> None:
        assert step.order_id is not None
        orders = {o.order_id: o for o in await self.broker.open_orders(self.account_id)}
        order = orders.get(step.order_id)
        if order is None or order.stop_price == step.price:
            return  # filled or cancelled meanwhile, or already moved
        self._check(
            await self.broker.modify_order(self.account_id, step.order_id, stop_price=step.price)
        )

    # -- the closing rule -------------------------------------------------------------------

    async def reduce_to(self, symbol: str, target: int) -> None:
        """Close contracts until |position| <= target; never beyond it, never sending twice."""
        for _ in self._rounds():
            closing = await self.settle(symbol)
            size = await self.position(symbol)
            uncovered = max(0, abs(size) - closing)
            if uncovered <= target:
                if closing:
                    raise StepFailed(f"{closing} contract(s) of close orders still working")
                return
            whole = target == 0 and not closing
            await self.send_close(symbol, size, None if whole else uncovered - target)
        raise StepFailed(f"{symbol} still above {target} contract(s) after repeated closes")

    async def send_close(self, symbol: str, size: int, quantity: int | None) -> None:
        """One closing order; remembered before it goes out, so a lost reply still counts."""
        side = Side.SELL if size > 0 else Side.BUY
        sent = Sent(self.account_id, symbol, side, quantity, size, self.clock.now())
        self.book.add(sent)
        try:
            if quantity is None:
                result = await self.broker.close_position(self.account_id, symbol)
            else:
                result = await self.broker.partial_close(self.account_id, symbol, quantity)
        except OutcomeUnknown as unknown:
            if unknown.order_id is not None:
                self.book.claim(sent, unknown.order_id)
            self.record(self.step, {"ok": False, "outcome_unknown": True, "error": str(unknown)})
            return  # the next round settles it before anything else is sent
        except asyncio.CancelledError:
            raise  # stopping mid-request: it may be out; the journal keeps it for the next run
        except BaseException:
            self.book.done(sent)  # nothing reached the broker
            raise
        if result.ok:
            self.book.acknowledge(sent, result.order_id)
        else:
            self.book.done(sent)  # refused: the broker did nothing
        self._check(result)

    async def settle(self, symbol: str) -> int:
        """Settle earlier closing orders for the symbol; returns contracts still being closed
        (working, or filled but not yet in the broker's position)."""
        closing = 0
        for sent in self.book.open_sends(self.account_id, symbol):
            if sent.filled_at is None:
                if sent.order_id is None and not sent.acknowledged and not await self._find(sent):
                    self.book.done(sent)  # the broker never received it
                    continue
                # Without an id (a broker that does not name its close orders) it was taken.
                self._name_from_stream(sent)
                order = None if sent.order_id is None else await self._final(sent.order_id)
                if order is not None and order.status is OrderStatus.WORKING:
                    closing += sent.closes
                    continue
                if order is not None and order.status is not OrderStatus.FILLED:
                    self.book.done(sent)  # cancelled or rejected: nothing closed
                    continue
                self.book.filled(sent, self.clock.now())  # or forgotten by the broker: assume so
            if await self._position_reflects(sent):
                self.book.done(sent)
                self.closed += 1
            elif self._lag_exceeded(sent):
                self.book.done(sent)
            else:
                closing += sent.closes
        return closing

    async def position(self, symbol: str) -> int:
        """The signed size: the broker's, unless our own stream shows more of the same side.

        A broker's position report can lag its fills; the stream that told the daemon about
        a fill may be ahead of it. Our own closes cannot make the larger figure stale for
        long: `settle` waits until both show them before another close is planned.
        """
        reported = 0
        for position in await self.broker.open_positions(self.account_id):
            if position.symbol == symbol:
                reported = position.size
        streamed = self.ledger(self.account_id).get(symbol, 0)
        if streamed * reported >= 0 and abs(streamed) > abs(reported):
            return streamed
        return reported

    async def cancel_working(self, symbol: str | None) -> None:
        """Cancel working orders (not the executor's own closes); verify none is left."""
        account = self.account_id

        def theirs(orders: list[Order]) -> list[Order]:
            mine = self.book.is_ours
            return [o for o in orders if symbol in (None, o.symbol) and not mine(o.order_id)]

        working = theirs(await self.broker.open_orders(account))
        if not working:
            return  # nothing to cancel: no second read to verify
        for order in working:
            result = await self.broker.cancel_order(account, order.order_id)
            self.record(self.step, result.journal())  # refused = already gone; checked below
        left = theirs(await self.broker.open_orders(account))
        if left:
            raise StepFailed(f"{len(left)} order(s) still working")

    # -- waiting on the broker --------------------------------------------------------------

    async def _final(self, order_id: str) -> Order | None:
        """The order's final state: from the stream, else from the broker (asked twice, to
        spare its rate budget); still WORKING after `order_final_s`, or None if unknown."""
        for wait in (self.timing.stream_grace_s, self.timing.order_final_s):
            order = await self.book.wait_final(order_id, wait)
            if order is None or order.status is OrderStatus.WORKING:
                order = await self.broker.order_status(self.account_id, order_id)
            if order is None or order.status is not OrderStatus.WORKING:
                return order
        return order

    async def _find(self, sent: Sent) -> bool:
        """Name the broker's order for a send whose reply was lost; False if there is none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._time_to_show(sent)
        for pause in self._pauses():
            found = self.book.candidates(sent)
            working = await self.broker.open_orders(self.account_id)
            found += [order for order in working if self.book.could_be(sent, order)]
            since = sent.sent_at - timedelta(seconds=5)
            for fill in await self.broker.fills_since(self.account_id, since):
                if fill.symbol == sent.symbol and fill.side == sent.side and fill.order_id:
                    order = await self.broker.order_status(self.account_id, fill.order_id)
                    if order is not None and self.book.could_be(sent, order):
                        found.append(order)
            if found:
                self.book.claim(sent, found[0].order_id)
                return True
            if loop.time() >= deadline:
                break
            await asyncio.sleep(pause)
        return False

    def _time_to_show(self, sent: Sent) -> float:
        """How long the broker may still take to show a send's order. One a previous run
        journaled has had its age already: were the whole bound waited again at each start, a
        crash loop of runs shorter than it would hold the account's enforcement for good."""
        if not sent.restored:
            return self.timing.order_final_s
        age = (self.clock.now() - sent.sent_at).total_seconds()
        return min(self.timing.order_final_s, max(0.0, self.timing.order_final_s - age))

    def _name_from_stream(self, sent: Sent) -> None:
        """An acknowledged close whose reply named no order (ProjectX's closeContract): its
        order is on the stream; naming it shows its fill and what was added after it."""
        if sent.order_id is None and sent.acknowledged:
            found = self.book.candidates(sent)
            if found:
                self.book.claim(sent, found[0].order_id)

    async def _position_reflects(self, sent: Sent) -> bool:
        """Wait (bounded) until the broker's position shows the fill: positions can lag.

        Contracts the trader added after the fill (an entry during a lockout) are expected on
        top: without them the position would never look closed until `trust_fill_s` passed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.position_lag_s
        added_before_restart = await self._added_before_restart(sent)
        for pause in self._pauses():
            self._name_from_stream(sent)
            added = max(self.book.added_after(sent), added_before_restart)
            expected = max(0, abs(sent.position_before) - sent.closes) + added
            size = await self.position(sent.symbol)
            if abs(size) <= expected or size * sent.position_before <= 0:
                return True
            if loop.time() >= deadline:
                break
            await asyncio.sleep(pause)
        return False

    async def _added_before_restart(self, sent: Sent) -> int:
        """For a close a previous run journaled: contracts the trader added after it was sent,
        by the broker's fills (the stream that reported them died with that run), so a
        position built since does not hold the account's enforcement for `trust_fill_s`."""
        if not sent.restored:
            return 0
        fills = await self.broker.fills_since(self.account_id, sent.sent_at)
        return sum(
            fill.quantity
            for fill in fills
            if fill.symbol == sent.symbol
            and fill.side != sent.side
            and fill.order_id != sent.order_id
            and fill.ts > sent.sent_at
        )

    def _rounds(self) -> Iterator[None]:
        """Closing rounds until `rounds` in a row saw none of our closes fill. A trader who
        enters again and again during a lockout is closed again and again: the limit is for
        a broker whose closes do not take, not for a trader who keeps trading."""
        idle = 0
        while idle < self.timing.rounds:
            closed = self.closed
            yield
            idle = 0 if self.closed > closed else idle + 1

    def _pauses(self) -> Iterator[float]:
        """Growing pauses between reads: a broker's rate budget is for enforcement too."""
        pause = self.timing.poll_s
        while True:
            yield pause
            pause = min(pause * 2, self.timing.max_poll_s)

    def _lag_exceeded(self, sent: Sent) -> bool:
        # A position that never comes down to what the fill implies was added to meanwhile
        # (by the trader): after a while the broker's figure is the truth again.
        assert sent.filled_at is not None
        return self.clock.now() - sent.filled_at > timedelta(seconds=self.timing.trust_fill_s)

    def _check(self, result: BrokerResult) -> None:
        self.record(self.step, result.journal())
        if not result.ok:
            raise StepFailed(result.error or "refused by the broker")


_ACTIONS: dict[ActionKind, Callable[[StepRunner, Step], Awaitable[None]]] = {
    ActionKind.FLATTEN: StepRunner.flatten,
    ActionKind.CLOSE: StepRunner.close,
    ActionKind.REDUCE: StepRunner.reduce,
    ActionKind.CANCEL: StepRunner.cancel,
    ActionKind.PLACE_STOP: StepRunner.place_stop,
    ActionKind.MOVE_STOP: StepRunner.move_stop,
}
