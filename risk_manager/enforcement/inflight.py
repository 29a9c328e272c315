"""Enforcement orders the broker may still be working on, and the order states seen for them.

A real broker acknowledges an order over REST and reports its fill later over a socket; a reply
can be lost after the broker acted. The executor therefore remembers every closing order it
sent (`Sent`) until it has seen that order's final state and the broker's position reflecting
it, and never sends another closing order for the symbol meanwhile.

With a store, each send is also journaled (`closing_sends`) before the request goes out and
deleted once settled, so a restart after a crash mid-close reloads it (`restore`) as a send
whose outcome is unknown, exactly like one whose reply was lost.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from risk_manager.domain.events import Order, OrderStatus, OrderType, Side
from risk_manager.state.send_rows import SendRow, SendRows
from risk_manager.state.store import Store

RECENT_ORDERS = 2000  # order states remembered for a send whose reply has not arrived yet
CLOCK_SKEW = timedelta(seconds=1)  # the broker's timestamps against ours
LOOK_BACK = 64  # latest order updates searched for look-alikes of a send (see `_look_alikes`)


@dataclass(eq=False, slots=True)
class Sent:
    """One closing order the executor sent; `quantity` None means "the whole position"."""

    account_id: str
    symbol: str
    side: Side
    quantity: int | None
    position_before: int  # the broker's signed size read just before sending
    sent_at: datetime
    order_id: str | None = None  # None until the broker's reply (or a lookup) names it
    acknowledged: bool = False  # the broker said it took the order (with or without an id)
    # Orders the stream had reported before this one went out: none of them can be it.
    seen_before: frozenset[str] = frozenset()
    filled_at: datetime | None = None  # when the executor learnt the order filled
    row_id: int | None = None  # its row in the store's journal of sends, once written
    restored: bool = False  # journaled by a previous run (loaded by `OrderBook.restore`)

    @property
    def closes(self) -> int:
        """Contracts this order takes off the position if it fills."""
        return abs(self.position_before) if self.quantity is None else self.quantity


class OrderBook:
    """Order states from the event stream (fed on the loop) and the executor's open sends."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._orders: OrderedDict[str, Order] = OrderedDict()
        self._working: set[str] = set()  # ids whose latest state is WORKING
        self._placed: dict[str, datetime] = {}  # the broker's time of an order's first WORKING
        self._changed: dict[str, asyncio.Event] = {}
        self._open: dict[str, list[Sent]] = {}
        self._claimed: set[str] = set()

    def restore(self) -> list[Sent]:
        """Load the sends a previous run journaled but never settled (a crash came between),
        as sends whose outcome is unknown; returns them."""
        if self._store is None:
            return []
        restored = [_from_row(row) for row in self._store.sends.unfinished()]
        for sent in restored:
            self._open.setdefault(sent.account_id, []).append(sent)
            if sent.order_id is not None:
                self._claimed.add(sent.order_id)
        return restored

    def observe(self, order: Order) -> None:
        """An order update arrived from the broker (called for every one, on the loop)."""
        self._orders[order.order_id] = order
        self._orders.move_to_end(order.order_id)
        if order.status is OrderStatus.WORKING:
            self._working.add(order.order_id)
            self._placed.setdefault(order.order_id, order.updated_at)
        else:
            self._working.discard(order.order_id)
        while len(self._orders) > RECENT_ORDERS:
            evicted = self._orders.popitem(last=False)[0]
            self._working.discard(evicted)
            self._placed.pop(evicted, None)
        waiter = self._changed.get(order.order_id)
        if waiter is not None:
            waiter.set()

    def seen(self, order_id: str) -> Order | None:
        """The latest state the stream reported for an order."""
        return self._orders.get(order_id)

    async def wait_final(self, order_id: str, within: float) -> Order | None:
        """The order once the stream reports it final, or its latest state after `within` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            order = self._orders.get(order_id)
            if order is not None and order.status is not OrderStatus.WORKING:
                return order
            left = deadline - loop.time()
            if left <= 0:
                return order
            waiter = self._changed.setdefault(order_id, asyncio.Event())
            waiter.clear()
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except TimeoutError:
                pass
            finally:
                self._changed.pop(order_id, None)

    def candidates(self, sent: Sent) -> list[Order]:
        """Orders the stream reported that could be `sent` (for a send whose reply was lost)."""
        return [order for order in self._orders.values() if self.could_be(sent, order)]

    def could_be(self, sent: Sent, order: Order) -> bool:
        """Whether `order` may be the broker's record of `sent`."""
        return (
            order.order_id not in self._claimed
            and order.order_id not in sent.seen_before
            and _alike(sent, order)
            and order.updated_at >= sent.sent_at - CLOCK_SKEW
        )

    def added_after(self, sent: Sent) -> int:
        """Contracts the trader added to the position since `sent` (filled) reached the broker.

        Only fills that cannot be in the position the close was planned from count: those the
        stream reported after the close's own fill (the stream keeps the broker's order), and
        those the broker stamped later than it stamped the close working (it was placed after
        that position was read). So a stale position is never taken for one the close reflects.
        """
        mine = self._orders.get(sent.order_id or "")
        if mine is None or mine.status is not OrderStatus.FILLED:
            return 0
        placed = self._placed.get(mine.order_id)
        added, after_mine = 0, False
        for order in self._orders.values():  # the oldest update first
            if order.order_id == mine.order_id:
                after_mine = True
            elif (
                order.status is OrderStatus.FILLED
                and order.account_id == sent.account_id
                and order.symbol == sent.symbol
                and order.side != sent.side
                and order.order_id not in self._claimed
                # An order known before the send counts only by the broker's stamp, and an old
                # stamp never: the stream may repeat a fill.
                and (
                    (placed is not None and order.updated_at > placed)
                    or (
                        after_mine
                        and order.order_id not in sent.seen_before
                        and order.updated_at >= sent.sent_at - CLOCK_SKEW
                    )
                )
            ):
                added += order.quantity
        return added

    def add(self, sent: Sent) -> None:
        """Remember a send before the request goes out: a lost reply (or a crash) still counts."""
        sent.seen_before = frozenset(self._orders)
        self._open.setdefault(sent.account_id, []).append(sent)
        if self._store is None:
            return
        alike = self._look_alikes(sent)

        def insert(rows: SendRows) -> None:
            sent.row_id = rows.insert(
                sent.account_id, sent.symbol, int(sent.side), sent.quantity,
                sent.position_before, sent.sent_at, alike,
            )  # fmt: skip

        self._write(insert)

    def _look_alikes(self, sent: Sent) -> frozenset[str]:
        """The orders seen before `sent` that `could_be` would take for it: only these need to
        survive a restart. That is a working one (it may fill after the send) or a final one
        updated within the clock skew of it, among the latest `LOOK_BACK` updates: this runs
        before every close request, so the whole book (up to `RECENT_ORDERS`) is not scanned."""
        recent: list[Order] = []
        for order in islice(reversed(self._orders.values()), LOOK_BACK):
            if order.updated_at < sent.sent_at - CLOCK_SKEW:
                break
            recent.append(order)
        working = (self._orders[order_id] for order_id in self._working)
        return frozenset(o.order_id for o in (*recent, *working) if _alike(sent, o))

    def claim(self, sent: Sent, order_id: str) -> None:
        sent.order_id = order_id
        self._claimed.add(order_id)
        self._update(sent, lambda rows, row: rows.name_order(row, order_id))

    def acknowledge(self, sent: Sent, order_id: str | None) -> None:
        """The broker said it took the order, naming it or not."""
        sent.acknowledged = True
        if order_id is not None:
            sent.order_id = order_id
            self._claimed.add(order_id)
        self._update(sent, lambda rows, row: rows.acknowledge(row, order_id))

    def filled(self, sent: Sent, at: datetime) -> None:
        """The order filled, or the broker forgot it (assumed filled); the position may lag."""
        sent.filled_at = at
        self._update(sent, lambda rows, row: rows.filled(row, at))

    def done(self, sent: Sent) -> None:
        """The send is final and accounted for."""
        sends = self._open.get(sent.account_id, [])
        if sent in sends:
            sends.remove(sent)
            self._update(sent, lambda rows, row: rows.delete(row))

    def open_sends(self, account_id: str, symbol: str | None = None) -> list[Sent]:
        return [s for s in self._open.get(account_id, []) if symbol in (None, s.symbol)]

    def is_ours(self, order_id: str) -> bool:
        """Whether the executor sent this order (it must not cancel its own closes)."""
        return order_id in self._claimed

    def _update(self, sent: Sent, write: Callable[[SendRows, int], None]) -> None:
        row_id = sent.row_id
        if row_id is not None:
            self._write(lambda rows: write(rows, row_id))

    def _write(self, write: Callable[[SendRows], None]) -> None:
        """Journal a change of a send: one small commit (queued in memory, like every write,
        while the disk is full or read-only, so the close is never held up by it)."""
        if self._store is not None:
            with self._store.transaction():
                write(self._store.sends)


def _alike(sent: Sent, order: Order) -> bool:
    """Whether `order` has the shape of `sent` (the matching `OrderBook.could_be` does)."""
    return (
        order.account_id == sent.account_id
        and order.symbol == sent.symbol
        and order.side == sent.side
        and order.type is OrderType.MARKET
        and order.quantity == sent.closes
    )


def _from_row(row: SendRow) -> Sent:
    return Sent(
        row.account_id, row.symbol, Side(row.side), row.quantity, row.position_before,
        row.sent_at, row.order_id, row.acknowledged, row.seen_before, row.filled_at, row.id,
        restored=True,
    )  # fmt: skip
