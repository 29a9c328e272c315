"""The executor against a slow, lossy broker: late fills, lost replies, 429s, lagging positions.

Whatever the broker does, a reduce never goes below its target, a close never flips the
position, and a flatten ends flat; no close is sent while an earlier one may still fill.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk_manager.clock import WallClock
from risk_manager.domain.events import Event, Fill, OrderUpdate, Side
from risk_manager.enforcement import journal
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.planner import Step
from risk_manager.enforcement.steps import Timing
from risk_manager.rules.base import ActionKind, Violation
from risk_manager.state.journal import records
from risk_manager.state.store import Store
from tests.brokers.double import Behaviour, SlowBroker

FAST = Timing(
    stream_grace_s=0.005, order_final_s=0.5, position_lag_s=0.3, trust_fill_s=2.0,
    poll_s=0.005, max_poll_s=0.02, retry_delays=(0.005, 0.01, 0.02), slow_retry_s=(0.05,),
)  # fmt: skip


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with TemporaryDirectory() as home:
        yield Store(Path(home) / "daemon.sqlite3")


def _status(store: Store, batch_id: int) -> dict[str, Any]:
    with closing(sqlite3.connect(store.path)) as db:
        return next(r for r in records(db, "A", 1000, None) if r["id"] == batch_id)


async def _enforce(
    store: Store,
    broker: SlowBroker,
    steps: list[Step],
    trades: dict[str, int],
    timing: Timing = FAST,
    rounds: int = 2000,
) -> tuple[Executor, dict[str, Any]]:
    """The trader's `trades` (symbol: signed quantity), then one batch until it is done (or
    failed) and the broker has no fill outstanding, or `rounds` polls of 5 ms have passed."""
    streamed: dict[str, int] = {}  # the daemon's ledger in miniature: fills off the stream

    def deliver(event: Event) -> None:
        if isinstance(event, OrderUpdate):
            executor.observe(event.order)
        elif isinstance(event, Fill):
            streamed[event.symbol] = streamed.get(event.symbol, 0) + event.signed_qty

    executor = Executor(broker, store, WallClock(), timing=timing, ledger=lambda _account: streamed)
    await broker.connect(deliver)
    for symbol, quantity in trades.items():
        broker.trade("A", symbol, quantity)
    violation = Violation("test", "A", "test breach", {})
    with store.transaction():
        batch_id = journal.open_batch(store, "A", [violation], steps, WallClock().now())
    executor.submit(Batch(batch_id, "A", steps))
    for _ in range(rounds):
        await executor.drain()
        record = _status(store, batch_id)
        if record["status"] != "pending" and broker.idle():
            break
        await asyncio.sleep(0.005)
    await executor.close()
    await broker.close()
    return executor, record


def _sent_closes(broker: SlowBroker) -> list[tuple[str, ...]]:
    return [call for call in broker.calls if call[0] in ("close", "partial")]


def _history(broker: SlowBroker, symbol: str = "MNQ") -> list[int]:
    return [positions.get(("A", symbol), 0) for _, positions in broker._history]


def test_reduce_with_a_late_fill_sends_one_partial_close(store: Store) -> None:
    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(fill_delay=0.3))

        _, record = await _enforce(
            store, broker, [Step(ActionKind.REDUCE, "MNQ", target=1)], {"MNQ": 4}
        )

        assert record["status"] == "done"
        assert broker.size("A", "MNQ") == 1
        assert _sent_closes(broker) == [("partial", "A", "MNQ", "3")]

    asyncio.run(scenario())


def test_lost_ack_then_429_on_a_close_ends_flat_without_a_second_close(store: Store) -> None:
    async def scenario() -> None:
        behaviour = Behaviour(fill_delay=0.2, position_lag=0.1, faults=["lose_ack", "429"])
        broker = SlowBroker(["A"], behaviour=behaviour)

        _, record = await _enforce(store, broker, [Step(ActionKind.CLOSE, "MNQ")], {"MNQ": -3})

        assert record["status"] == "done"
        assert broker.size("A", "MNQ") == 0
        assert max(_history(broker)) == 0  # never flipped
        assert _sent_closes(broker) == [("close", "A", "MNQ")]  # the lost reply was found
        assert record["responses"][0]["outcome_unknown"] is True

    asyncio.run(scenario())


def test_a_429_that_did_not_act_is_sent_again_once(store: Store) -> None:
    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(fill_delay=0.05, faults=["429"]))

        _, record = await _enforce(
            store, broker, [Step(ActionKind.REDUCE, "MNQ", target=2)], {"MNQ": 5}
        )

        assert record["status"] == "done"
        assert broker.size("A", "MNQ") == 2
        assert _sent_closes(broker) == [("partial", "A", "MNQ", "3")] * 2

    asyncio.run(scenario())


def test_flatten_cancels_the_traders_orders_and_closes_every_symbol(store: Store) -> None:
    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(fill_delay=0.1, faults=["ok", "500"]))
        broker.rest_order("A", "MNQ", Side.SELL, 2)

        _, record = await _enforce(store, broker, [Step(ActionKind.FLATTEN)], {"MNQ": 2, "ES": -1})

        assert record["status"] == "done"
        assert broker.size("A", "MNQ") == broker.size("A", "ES") == 0
        assert await broker.open_orders("A") == []
        assert len(_sent_closes(broker)) == 2

    asyncio.run(scenario())


def test_a_rejected_close_is_not_retried_at_once_and_is_escalated(store: Store) -> None:
    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(faults=["reject"]))
        timing = Timing(retry_delays=(0.01, 0.01), slow_retry_s=(60.0,))

        # A batch left pending polls until `rounds` run out: 200 polls (over a second) are a
        # hundred times the 10 ms a retry at once would take.
        executor, record = await _enforce(
            store, broker, [Step(ActionKind.CLOSE, "MNQ")], {"MNQ": 2}, timing, rounds=200
        )

        assert record["status"] == "pending"  # still owed; retried at the slow pace
        assert "rejected by the broker" in record["outcome"]
        assert executor.failures == 1
        assert _sent_closes(broker) == [("close", "A", "MNQ")]

    asyncio.run(scenario())


def test_refused_login_halts_the_account_until_it_works_again(store: Store) -> None:
    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(faults=["auth"]))

        executor, record = await _enforce(
            store, broker, [Step(ActionKind.CLOSE, "MNQ")], {"MNQ": 2}
        )

        assert record["status"] == "done"  # the slow retry probed the login, then closed
        assert executor.auth_halted == {}
        assert broker.size("A", "MNQ") == 0
        assert _sent_closes(broker) == [("close", "A", "MNQ")] * 2

    asyncio.run(scenario())


FAULTS = st.lists(st.sampled_from(["ok", "lose_ack", "500", "429", "429_acted", "unavailable",
                                   "refuse"]), max_size=4)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(-6, 6).filter(bool),
    kind=st.sampled_from([ActionKind.REDUCE, ActionKind.CLOSE, ActionKind.FLATTEN]),
    target_share=st.floats(0, 0.99),
    fill_delays=st.lists(st.floats(0, 0.03), min_size=1, max_size=4),
    position_lag=st.floats(0, 0.03),
    faults=FAULTS,
    anonymous=st.booleans(),
)
def test_property_never_beyond_the_target_and_never_flipped(
    store: Store,
    start: int,
    kind: ActionKind,
    target_share: float,
    fill_delays: list[float],
    position_lag: float,
    faults: list[str],
    anonymous: bool,
) -> None:
    target = int(abs(start) * target_share) if kind is ActionKind.REDUCE else 0
    delays = iter(fill_delays * 20)
    behaviour = Behaviour(lambda: next(delays), position_lag, list(faults), anonymous)

    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=behaviour)
        step = Step(kind, "MNQ", target) if kind is ActionKind.REDUCE else Step(kind, "MNQ")
        if kind is ActionKind.FLATTEN:
            step = Step(kind)

        _, record = await _enforce(store, broker, [step], {"MNQ": start})

        sizes = _history(broker)[1:]  # from the trader's opening fill on
        assert all(size * start >= 0 for size in sizes), sizes  # never flipped
        assert all(abs(size) >= target for size in sizes), sizes  # never beyond the target
        assert record["status"] == "done", record["outcome"]
        assert abs(broker.size("A", "MNQ")) == target

    asyncio.run(scenario())


def test_an_entry_while_a_close_runs_is_covered_by_one_more_batch(store: Store) -> None:
    """The running close looked at the broker before the entry: only a batch queued after it
    sees the new contract, so the planner must be free to queue one (and only one)."""

    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(fill_delay=0.2))
        streamed: dict[str, int] = {}

        def deliver(event: Event) -> None:
            if isinstance(event, OrderUpdate):
                executor.observe(event.order)
            elif isinstance(event, Fill):
                streamed[event.symbol] = streamed.get(event.symbol, 0) + event.signed_qty

        executor = Executor(broker, store, WallClock(), timing=FAST, ledger=lambda _: streamed)
        await broker.connect(deliver)
        broker.trade("A", "MNQ", 2)
        close = [Step(ActionKind.CLOSE, "MNQ")]
        violation = Violation("test", "A", "test breach", {})

        def submit() -> int:
            with store.transaction():
                batch_id = journal.open_batch(store, "A", [violation], close, WallClock().now())
            executor.submit(Batch(batch_id, "A", close))
            return batch_id

        first = submit()
        assert close[0].key in executor.busy("A")  # queued: a second one would be redundant
        for _ in range(400):
            if _sent_closes(broker):
                break
            await asyncio.sleep(0.005)
        broker.trade("A", "MNQ", 1)  # the trader's entry while the close is working
        assert close[0].key not in executor.busy("A")  # running: it cannot cover the entry
        second = submit()
        for _ in range(2000):
            await executor.drain()
            done = all(_status(store, b)["status"] != "pending" for b in (first, second))
            if done and broker.idle():
                break
            await asyncio.sleep(0.005)
        await executor.close()
        await broker.close()

        assert broker.size("A", "MNQ") == 0
        assert min(_history(broker)) >= 0  # never flipped short

    asyncio.run(scenario())


def test_an_entry_after_a_close_filled_is_expected_on_top_of_it(store: Store) -> None:
    """The close (no order id in its reply) fills, the trader buys 1 before the lagging
    position shows it: the executor counts the entry on top of what the close left, so it
    confirms the close and closes the entry at once (it used to wait out `trust_fill_s`)."""

    async def scenario() -> None:
        behaviour = Behaviour(fill_delay=0.05, position_lag=0.2, anonymous_closes=True)
        broker = SlowBroker(["A"], behaviour=behaviour)
        original = broker._fill

        def fill_then_enter(order_id: str) -> None:
            original(order_id)
            if broker.orders[order_id].side is Side.SELL and len(_sent_closes(broker)) == 1:
                broker.trade("A", "MNQ", 1)

        broker._fill = fill_then_enter  # type: ignore[method-assign]
        patient = replace(FAST, trust_fill_s=60.0, slow_retry_s=(60.0,))

        executor, record = await _enforce(
            store, broker, [Step(ActionKind.CLOSE, "MNQ")], {"MNQ": 2}, patient
        )

        assert record["status"] == "done", record["outcome"]
        assert executor.failures == 0
        assert _history(broker) == [0, 2, 0, 1, 0]
        assert _sent_closes(broker) == [("close", "A", "MNQ")] * 2

    asyncio.run(scenario())


def test_a_trader_entering_again_and_again_is_closed_each_time(store: Store) -> None:
    """More re-entries than closing rounds: every close of ours fills, so the flatten keeps
    going instead of failing and leaving the next entry open until the slow retry."""

    async def scenario() -> None:
        broker = SlowBroker(["A"], behaviour=Behaviour(fill_delay=0.01))
        original = broker._fill
        entries = 3 * FAST.rounds

        def fill_then_enter(order_id: str) -> None:
            original(order_id)
            if broker.orders[order_id].side is Side.SELL and len(_sent_closes(broker)) <= entries:
                broker.trade("A", "MNQ", 1)

        broker._fill = fill_then_enter  # type: ignore[method-assign]
        executor, record = await _enforce(store, broker, [Step(ActionKind.FLATTEN)], {"MNQ": 1})

        assert record["status"] == "done", record["outcome"]
        assert executor.failures == 0
        assert len(_sent_closes(broker)) == entries + 1
        assert min(_history(broker)[1:]) == 0
        assert broker.size("A", "MNQ") == 0

    asyncio.run(scenario())
