"""Closing orders sent by a run that crashed before their outcome was known.

The order book journals each send before the request goes out; a new run reloads what is
left as sends whose outcome is unknown and settles them before anything else is sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from risk_manager.clock import WallClock
from risk_manager.domain.events import Event, Fill, Order, OrderStatus, OrderType, OrderUpdate, Side
from risk_manager.enforcement import journal
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.inflight import OrderBook, Sent
from risk_manager.enforcement.planner import Step
from risk_manager.enforcement.steps import Timing
from risk_manager.rules.base import ActionKind, Violation
from risk_manager.state.store import Store
from tests.brokers.double import Behaviour, SlowBroker

FAST = Timing(
    stream_grace_s=0.005, order_final_s=0.5, position_lag_s=0.3, trust_fill_s=2.0,
    poll_s=0.005, max_poll_s=0.02, retry_delays=(0.005, 0.01, 0.02), slow_retry_s=(0.05,),
)  # fmt: skip
NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def _order(order_id: str, quantity: int = 3, kind: OrderType = OrderType.MARKET) -> Order:
    return Order(order_id, "A", "MNQ", Side.SELL, kind, quantity, OrderStatus.WORKING, NOW)


def _sell_3(sent_at: datetime = NOW) -> Sent:
    return Sent("A", "MNQ", Side.SELL, 3, 4, sent_at)


# -- the order book's journal ------------------------------------------------------------------


def test_a_send_is_reloaded_as_it_stood_until_it_is_done(tmp_path: Path) -> None:
    store = Store(tmp_path / "daemon.sqlite3")
    book = OrderBook(store)
    sent = _sell_3()
    book.add(sent)
    book.claim(sent, "7")
    book.filled(sent, NOW + timedelta(seconds=1))

    again = OrderBook(store)
    (restored,) = again.restore()

    assert (restored.account_id, restored.symbol, restored.side) == ("A", "MNQ", Side.SELL)
    assert (restored.quantity, restored.position_before, restored.sent_at) == (3, 4, NOW)
    assert (restored.order_id, restored.filled_at) == ("7", NOW + timedelta(seconds=1))
    assert again.open_sends("A", "MNQ") == [restored]
    assert again.is_ours("7")  # a close step must not cancel it as the trader's

    again.done(restored)
    assert OrderBook(store).restore() == []


def test_an_acknowledged_close_without_an_id_is_reloaded_as_taken(tmp_path: Path) -> None:
    store = Store(tmp_path / "daemon.sqlite3")
    book = OrderBook(store)
    sent = Sent("A", "MNQ", Side.SELL, None, 4, NOW)  # the whole position
    book.add(sent)
    book.acknowledge(sent, None)

    (restored,) = OrderBook(store).restore()

    assert (restored.quantity, restored.closes, restored.acknowledged) == (None, 4, True)
    assert restored.order_id is None


def test_look_alike_orders_seen_before_the_send_are_never_taken_for_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "daemon.sqlite3")
    book = OrderBook(store)
    alike, limit, smaller = _order("1"), _order("2", kind=OrderType.LIMIT), _order("3", 2)
    hour_ago = NOW - timedelta(hours=1)
    # A working one placed long ago may still fill after the send; a filled one cannot.
    working = replace(_order("5"), updated_at=hour_ago)
    filled = replace(_order("6"), updated_at=hour_ago, status=OrderStatus.FILLED)
    for order in (working, filled, alike, limit, smaller):
        book.observe(order)
    book.add(_sell_3(NOW - timedelta(milliseconds=10)))

    again = OrderBook(store)
    (restored,) = again.restore()

    assert restored.seen_before == {"1", "5"}  # only what could be mistaken for it is kept
    assert not again.could_be(restored, alike)
    assert not again.could_be(restored, replace(working, updated_at=NOW))
    assert again.could_be(restored, _order("4"))


def test_without_a_store_nothing_is_journaled_or_restored() -> None:
    book = OrderBook()
    book.add(_sell_3())
    assert book.restore() == []


# -- the executor after a restart ----------------------------------------------------------------


class Restart:
    """A broker that outlived the daemon and a store the crashed run left behind."""

    def __init__(self, tmp_path: Path, behaviour: Behaviour) -> None:
        self.store = Store(tmp_path / "daemon.sqlite3")
        self.broker = SlowBroker(["A"], behaviour=behaviour)
        self.streamed: dict[str, int] = {}
        self.executor: Executor | None = None
        self.executor_timing = FAST

    def deliver(self, event: Event) -> None:
        """The stream: nobody listens until the new run's executor exists."""
        if self.executor is None:
            return
        if isinstance(event, OrderUpdate):
            self.executor.observe(event.order)
        elif isinstance(event, Fill):
            self.streamed[event.symbol] = self.streamed.get(event.symbol, 0) + event.signed_qty

    def crashed_run(self, sent: Sent, order_id: str | None = None) -> None:
        """The previous run journaled `sent` (and the broker's id for it, if it learnt one),
        then died."""
        book = OrderBook(self.store)
        book.add(sent)
        if order_id is not None:
            book.claim(sent, order_id)

    async def new_run(self, steps: list[Step], *, connected_first: bool = True) -> Executor:
        """Start the executor on the same store, recover, run one batch until it is over;
        `connected_first` False: the batch runs first (an admin flatten retried while the
        broker connects), `recover` only once it is over."""
        executor = Executor(self.broker, self.store, WallClock(), timing=self.executor_timing,
                            ledger=lambda _account: self.streamed)  # fmt: skip
        self.executor = executor
        self.streamed.update({"MNQ": self.broker.size("A", "MNQ")})  # reconciled books
        if connected_first:
            executor.recover()
        with self.store.transaction():
            violation = Violation("test", "A", "resumed", {})
            batch_id = journal.open_batch(self.store, "A", [violation], steps, WallClock().now())
        executor.submit(Batch(batch_id, "A", steps))
        if not connected_first:
            await executor.drain()
            executor.recover()
        for _ in range(2000):
            await executor.drain()
            if self.broker.idle() and not executor.orders.open_sends("A"):
                break
            await asyncio.sleep(0.005)
        await executor.close()
        await self.broker.close()
        return executor

    def closes(self) -> list[tuple[str, ...]]:
        return [call for call in self.broker.calls if call[0] in ("close", "partial")]


def test_a_close_sent_before_the_crash_is_found_and_not_sent_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.3, position_lag=0.2))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now()))
        await rig.broker.partial_close("A", "MNQ", 3)  # reached the broker; the reply was lost

        await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)])

        assert rig.closes() == [("partial", "A", "MNQ", "3")]
        assert rig.broker.size("A", "MNQ") == 1
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())


def test_a_batch_run_before_the_broker_connected_counts_the_earlier_close_too(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.3, position_lag=0.2))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now()))
        await rig.broker.partial_close("A", "MNQ", 3)  # reached the broker; the reply was lost

        await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)], connected_first=False)

        assert rig.closes() == [("partial", "A", "MNQ", "3")]
        assert rig.broker.size("A", "MNQ") == 1
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())


def test_a_flatten_after_the_restart_closes_only_what_the_earlier_close_does_not(
    tmp_path: Path,
) -> None:
    """What a reconcile plans for exposure under a lockout: a flatten while the previous run's
    partial close is still working. It must not cancel that close as the trader's order, and
    must send only the contract it leaves."""

    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=1.0, position_lag=0.2))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now()))
        await rig.broker.partial_close("A", "MNQ", 3)  # reached the broker; the reply was lost

        await rig.new_run([Step(ActionKind.FLATTEN)])

        first, last = rig.closes()  # the one left: 1 contract, by a partial or a whole close
        assert first == ("partial", "A", "MNQ", "3")
        assert last in (("partial", "A", "MNQ", "1"), ("close", "A", "MNQ"))
        assert [c for c in rig.broker.calls if c[0] == "cancel"] == []
        assert rig.broker.size("A", "MNQ") == 0
        assert min(size for _, p in rig.broker._history for size in p.values()) >= 0

    asyncio.run(scenario())


def test_a_close_journaled_but_never_sent_is_sent_by_the_new_run(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.05))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now()))  # killed before the request went out

        await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)])

        assert rig.closes() == [("partial", "A", "MNQ", "3")]
        assert rig.broker.size("A", "MNQ") == 1
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())


def test_an_old_send_is_resolved_by_its_id_not_by_a_look_alike(tmp_path: Path) -> None:
    """Sends older than the bound: one whose order filled long ago is dropped; one without an
    id is not matched to the trader's order of the same shape placed much later."""

    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.0))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 1)
        long_ago = WallClock().now() - timedelta(seconds=FAST.stale_send_s + 60)
        rig.crashed_run(_sell_3(long_ago), "1")  # the fill above stands in for ours, long done
        rig.crashed_run(_sell_3(long_ago))
        await rig.broker.place_order("A", "MNQ", Side.SELL, 3, OrderType.MARKET)  # working

        executor = await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)])

        assert rig.store.sends.unfinished() == []
        assert not executor.orders.is_ours("2")  # the trader's order was not taken for ours
        assert rig.closes() == []  # the position was at the target already

    asyncio.run(scenario())


def test_an_old_send_still_working_at_the_broker_is_counted_until_it_fills(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.0))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        working = await rig.broker.place_order("A", "MNQ", Side.SELL, 3, OrderType.MARKET)
        assert working.order_id is not None
        long_ago = WallClock().now() - timedelta(seconds=FAST.stale_send_s + 60)
        rig.crashed_run(_sell_3(long_ago), working.order_id)  # held by a halted market
        asyncio.get_running_loop().call_later(1.0, rig.broker.fill, working.order_id)

        await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)])

        assert rig.closes() == []  # 4 minus the 3 working was the target: nothing more sent
        assert rig.broker.size("A", "MNQ") == 1
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())


def test_a_send_journaled_longer_ago_than_the_broker_needs_is_looked_for_once(
    tmp_path: Path,
) -> None:
    """A crash loop whose runs each live shorter than `order_final_s`: if every run waited the
    whole bound again for a close the broker never got, the account's enforcement would never
    go on. The broker has had the send's age to show the order; one look is enough."""

    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.0))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now() - timedelta(seconds=10 * FAST.order_final_s)))
        looks: list[int] = []  # closes sent so far, at each read of the working orders
        read = rig.broker.open_orders

        async def counted(account_id: str) -> list[Order]:
            looks.append(len(rig.closes()))
            return await read(account_id)

        rig.broker.open_orders = counted  # type: ignore[method-assign]

        await rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)])

        assert rig.closes() == [("partial", "A", "MNQ", "3")]
        assert looks.count(0) == 1, looks  # before the close: one look, not a wait
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())


def test_a_close_that_filled_before_the_crash_does_not_hold_up_what_the_trader_added_since(
    tmp_path: Path,
) -> None:
    """The previous run's close filled, then the trader added to the position, then the crash.
    The new run's stream never saw those fills: the broker's fills show them, so the close is
    settled at once instead of holding the account's enforcement for `trust_fill_s`."""

    async def scenario() -> None:
        rig = Restart(tmp_path, Behaviour(fill_delay=0.0))
        await rig.broker.connect(rig.deliver)
        rig.broker.trade("A", "MNQ", 4)
        rig.crashed_run(_sell_3(WallClock().now()))
        await rig.broker.partial_close("A", "MNQ", 3)  # filled; the reply was lost
        rig.broker.trade("A", "MNQ", 2)  # the trader adds: 3 now

        rig.executor_timing = replace(FAST, trust_fill_s=3600.0)
        # Bounded only so that a regression fails instead of hanging for the hour.
        await asyncio.wait_for(rig.new_run([Step(ActionKind.REDUCE, "MNQ", target=1)]), 60)

        assert rig.closes() == [("partial", "A", "MNQ", "3"), ("partial", "A", "MNQ", "2")]
        assert rig.broker.size("A", "MNQ") == 1
        assert rig.store.sends.unfinished() == []

    asyncio.run(scenario())
