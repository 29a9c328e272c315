"""SimulatedBroker: the Broker protocol, event stream, persistence and simulated outages."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from risk_manager.brokers.base import BrokerError
from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.brokers.simulated.config import SimulatedBrokerConfig
from risk_manager.brokers.simulated.exchange import SimOrderError
from risk_manager.clock import WallClock
from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Event,
    Fill,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)

D = Decimal
ACCOUNTS = [("A1", "Alice"), ("B2", "Bob")]


def make_broker(db: Path, **config: object) -> SimulatedBroker:
    settings = SimulatedBrokerConfig(**{"market": "manual", **config})  # type: ignore[arg-type]
    return SimulatedBroker(settings, ACCOUNTS, db, WallClock())


def test_new_accounts_open_with_the_starting_balance(tmp_path: Path) -> None:
    async def scenario() -> None:
        broker = make_broker(tmp_path / "sim.db", starting_balance=D("25000"))
        infos = await broker.accounts()
        assert [(i.account_id, i.name, i.balance, i.can_trade) for i in infos] == [
            ("A1", "Alice", D("25000"), True),
            ("B2", "Bob", D("25000"), True),
        ]
        assert broker.kind == "simulated"
        assert broker.contract_spec("MNQZ5").tick_value == D("0.50")
        with pytest.raises(BrokerError, match="unknown account"):
            await broker.account_info("nope")
        await broker.close()

    asyncio.run(scenario())


def test_connect_streams_state_then_events_in_broker_order(tmp_path: Path) -> None:
    async def scenario() -> list[Event]:
        broker = make_broker(tmp_path / "sim.db")
        events: list[Event] = []
        await broker.connect(events.append)
        broker.submit_order("A1", "MNQ", Side.BUY, 2, OrderType.MARKET)
        await broker.close()
        return events

    events = asyncio.run(scenario())

    assert [type(e) for e in events] == [
        ConnectionChange,
        Quote,
        Quote,
        OrderUpdate,
        Fill,
        OrderUpdate,
        AccountUpdate,
    ]
    assert [q.symbol for q in events[1:3]] == ["MNQ", "ES"]  # type: ignore[union-attr]
    assert [e.event_id for e in events[3:]] == [  # type: ignore[union-attr]
        "order:1:working",
        "fill:1",
        "order:1:filled",
        "account:A1:1",
    ]


def test_events_are_committed_before_they_are_emitted(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    seen: list[int] = []

    def sink(event: Event) -> None:
        if isinstance(event, Fill):
            with sqlite3.connect(db) as other:
                seen.append(other.execute("SELECT count(*) FROM fills").fetchone()[0])

    async def scenario() -> None:
        broker = make_broker(db)
        await broker.connect(sink)
        broker.submit_order("A1", "MNQ", Side.BUY, 1, OrderType.MARKET)
        await broker.close()

    asyncio.run(scenario())
    assert seen == [1]


def test_reopening_the_file_restores_the_broker(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"

    async def first_session() -> None:
        broker = make_broker(db)
        broker.submit_order("A1", "MNQ", Side.BUY, 2, OrderType.MARKET)
        broker.submit_order("A1", "MNQ", Side.SELL, 2, OrderType.STOP, stop_price=D("20950"))
        broker.set_price("MNQ", D("20990"))
        broker.set_can_trade("B2", False)
        await broker.close()  # a kill -9 loses nothing either: every action is committed

    async def second_session() -> None:
        broker = make_broker(db, starting_balance=D("1"))
        [position] = await broker.open_positions("A1")
        assert (position.symbol, position.size, position.avg_price) == ("MNQ", 2, D("21000"))
        [stop] = await broker.open_orders("A1")
        assert (stop.order_id, stop.type, stop.stop_price) == ("2", OrderType.STOP, D("20950"))
        assert broker.price("MNQ") == D("20990")
        a1, b2 = await broker.accounts()
        assert (a1.balance, b2.balance, b2.can_trade) == (D("49999.26"), D("50000"), False)

        broker.set_price("MNQ", D("20950"))  # the restored stop still works

        fills = await broker.fills_since("A1", broker_start - timedelta(minutes=1))
        assert [f.event_id for f in fills] == ["fill:1", "fill:2"]
        assert [f.order_id for f in fills] == ["1", "2"]
        assert await broker.open_positions("A1") == []
        order = broker.submit_order("B2", "MNQ", Side.SELL, 1, OrderType.MARKET)
        assert (order.order_id, order.status) == ("3", OrderStatus.REJECTED)
        await broker.close()

    broker_start = WallClock().now()
    asyncio.run(first_session())
    asyncio.run(second_session())


def test_close_and_partial_close_reply_like_a_broker(tmp_path: Path) -> None:
    async def scenario() -> None:
        broker = make_broker(tmp_path / "sim.db")
        flat = await broker.close_position("A1", "MNQ")
        assert not flat.ok
        assert flat.raw["errorCode"] != 0
        assert "no open position" in str(flat.error)

        broker.submit_order("A1", "MNQ", Side.SELL, 3, OrderType.MARKET)
        too_many = await broker.partial_close("A1", "MNQ", 4)
        assert not too_many.ok
        partial = await broker.partial_close("A1", "MNQ", 1)
        assert partial.ok
        assert partial.raw["success"] is True
        assert partial.error is None
        assert partial.order_id == "2"
        [position] = await broker.open_positions("A1")
        assert position.size == -2

        broker.set_can_trade("A1", False)  # closing is allowed while locked
        closed = await broker.close_position("A1", "mnq")
        assert closed.ok
        assert await broker.open_positions("A1") == []
        await broker.close()

    asyncio.run(scenario())


def test_place_cancel_and_modify_orders(tmp_path: Path) -> None:
    async def scenario() -> None:
        broker = make_broker(tmp_path / "sim.db")
        placed = await broker.place_order(
            "A1", "ES", Side.BUY, 1, OrderType.STOP, stop_price=D("6010")
        )
        assert placed.ok
        order_id = str(placed.order_id)

        moved = await broker.modify_order("A1", order_id, stop_price=D("6005"))
        assert moved.ok
        [order] = await broker.open_orders("A1")
        assert order.stop_price == D("6005")
        assert not (await broker.modify_order("A1", order_id, stop_price=D("6005.10"))).ok
        assert not (await broker.cancel_order("B2", order_id)).ok  # another account's order

        assert (await broker.cancel_order("A1", order_id)).ok
        assert await broker.open_orders("A1") == []
        assert not (await broker.cancel_order("A1", order_id)).ok
        bad = await broker.place_order("A1", "ES", Side.BUY, 0, OrderType.MARKET)
        assert not bad.ok
        assert "quantity" in str(bad.error)
        await broker.close()

    asyncio.run(scenario())


def test_locked_account_refuses_orders_that_add_exposure(tmp_path: Path) -> None:
    async def scenario() -> list[Event]:
        broker = make_broker(tmp_path / "sim.db")
        events: list[Event] = []
        await broker.connect(events.append)
        broker.set_can_trade("A1", False)
        refused = await broker.place_order("A1", "MNQ", Side.BUY, 1, OrderType.MARKET)
        assert not refused.ok
        assert refused.order_id == "1"
        assert not (await broker.account_info("A1")).can_trade
        await broker.close()
        return events

    events = asyncio.run(scenario())
    update = next(e for e in events if isinstance(e, AccountUpdate))
    assert (update.event_id, update.can_trade) == ("account:A1:1", False)
    assert events[-1].event_id == "order:1:rejected"  # type: ignore[union-attr]


def test_outage_drops_events_and_refuses_calls_until_the_link_returns(tmp_path: Path) -> None:
    async def scenario() -> list[Event]:
        broker = make_broker(tmp_path / "sim.db")
        events: list[Event] = []
        await broker.connect(events.append)
        events.clear()
        broker.set_connected(False)
        with pytest.raises(BrokerError, match="disconnected"):
            await broker.open_positions("A1")
        broker.submit_order("A1", "MNQ", Side.BUY, 1, OrderType.MARKET)  # trader keeps trading

        broker.set_connected(True)
        fills = await broker.fills_since("A1", WallClock().now() - timedelta(minutes=1))
        assert [f.event_id for f in fills] == ["fill:1"]
        await broker.close()
        return events

    events = asyncio.run(scenario())
    assert [(type(e), getattr(e, "connected", None)) for e in events] == [
        (ConnectionChange, False),
        (ConnectionChange, True),
    ]


def test_sim_controls_refuse_bad_input(tmp_path: Path) -> None:
    broker = make_broker(tmp_path / "sim.db")
    with pytest.raises(ValueError, match="tick size"):
        broker.set_price("MNQ", D("21000.1"))
    with pytest.raises(ValueError, match="unknown symbol"):
        broker.set_price("FOO", D("1"))
    with pytest.raises(SimOrderError, match="unknown account"):
        broker.submit_order("Z9", "MNQ", Side.BUY, 1, OrderType.MARKET)
    with pytest.raises(SimOrderError, match="unknown account"):
        broker.set_can_trade("Z9", False)
    assert broker.price("MNQ") == D("21000")
    asyncio.run(broker.close())


def test_random_walk_streams_quotes_on_the_grid_until_closed(tmp_path: Path) -> None:
    async def scenario() -> list[Quote]:
        broker = make_broker(tmp_path / "sim.db", market="random_walk", tick_interval_ms=10)
        quotes: list[Quote] = []
        broker.submit_order("A1", "CL", Side.BUY, 1, OrderType.MARKET)  # an ordered symbol walks
        await broker.connect(lambda e: quotes.append(e) if isinstance(e, Quote) else None)
        await asyncio.sleep(0.15)
        await broker.close()
        count = len(quotes)
        await asyncio.sleep(0.05)
        assert len(quotes) == count  # the market stopped with the broker
        return quotes

    quotes = asyncio.run(scenario())
    assert len(quotes) > 6
    assert {q.symbol for q in quotes} == {"MNQ", "ES", "CL"}
    ticks = {"MNQ": D("0.25"), "ES": D("0.25"), "CL": D("0.01")}
    assert all(q.last is not None and q.last % ticks[q.symbol] == 0 for q in quotes)
    assert all(q.bid is None and q.ask is None for q in quotes)
