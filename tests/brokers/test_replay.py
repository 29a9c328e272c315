"""The replay broker: recorded events at their own times, rule ticks in between, the daemon's
orders filled at the recorded prices, and its config validated with located errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from risk_manager.brokers import registry
from risk_manager.brokers.base import ClockProvider, Driver
from risk_manager.brokers.replay.adapter import ReplayBroker
from risk_manager.clock import Clock
from risk_manager.config import ConfigError, validate_text
from risk_manager.domain.events import (
    AccountUpdate,
    Event,
    Fill,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from risk_manager.domain.recording import read_recording
from risk_manager.paths import HomePaths

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
ACCOUNT = "REC-1"


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def quote(seconds: float, symbol: str = "MNQ", **prices: str) -> dict[str, Any]:
    return {"type": "quote", "ts": _at(seconds), "symbol": symbol, **prices}


def fill(seconds: float, fill_id: str, side: str, quantity: int, price: str,
         symbol: str = "MNQ", order_id: str = "") -> dict[str, Any]:  # fmt: skip
    return {"type": "fill", "ts": _at(seconds), "id": fill_id, "account": ACCOUNT,
            "symbol": symbol, "side": side, "quantity": quantity, "price": price,
            "fee": "0.37", "order_id": order_id}  # fmt: skip


def order(seconds: float, order_id: str, status: str, stop: str) -> dict[str, Any]:
    return {"type": "order", "ts": _at(seconds), "id": f"{order_id}:{status}",
            "order_id": order_id, "account": ACCOUNT, "symbol": "MNQ", "side": "sell",
            "order_type": "stop", "quantity": 1, "status": status, "stop_price": stop}  # fmt: skip


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


class Daemon:
    """Stands in for the daemon around a replay: a sink, a rule tick on the replay's clock, and
    enforcement that a test reacts with (awaited by `settle`, as the executor's is)."""

    def __init__(self, broker: ReplayBroker) -> None:
        self.broker = broker
        self.clock: Clock = broker.clock()
        self.seen: list[tuple[float, Event]] = []
        self.ticks: list[float] = []
        self.react: Callable[[Event], Awaitable[None] | None] = lambda _event: None
        self._work: list[asyncio.Task[None]] = []

    def elapsed(self) -> float:
        return (self.clock.now() - T0).total_seconds()

    def sink(self, event: Event) -> None:
        self.seen.append((self.elapsed(), event))
        reaction = self.react(event)
        if reaction is not None:
            self._work.append(asyncio.ensure_future(reaction))

    async def tick(self) -> None:
        while True:
            await self.clock.sleep(1.0)
            await asyncio.sleep(0)  # as the housekeeping task hops to a thread
            self.ticks.append(self.elapsed())

    async def settle(self) -> None:
        while self._work:
            await self._work.pop()

    async def run(self) -> None:
        await self.broker.connect(self.sink)
        ticker = asyncio.create_task(self.tick())
        await asyncio.sleep(0)
        await self.broker.drive(self.settle)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)


Reaction = Callable[[Event], Awaitable[None]]


def when(event_id: str, reaction: Reaction) -> Callable[[Event], Awaitable[None] | None]:
    """React to the event with this id only."""
    return lambda event: reaction(event) if getattr(event, "event_id", None) == event_id else None


def replay(path: Path, notices: list[str] | None = None) -> ReplayBroker:
    events = read_recording(path)
    notes = notices if notices is not None else []
    return ReplayBroker(path, events, [(ACCOUNT, "Recorded")], Decimal("50000"),
                        lambda kind, message: notes.append(f"{kind}: {message}"))  # fmt: skip


def test_the_replay_owns_the_clock_and_drives_the_daemon(tmp_path: Path) -> None:
    broker = replay(write(tmp_path / "r.jsonl", [quote(0, last="1")]))
    assert isinstance(broker, ClockProvider)
    assert isinstance(broker, Driver)
    assert broker.clock().now() == T0


def test_events_arrive_at_their_times_after_every_tick_before_them(tmp_path: Path) -> None:
    notices: list[str] = []
    path = write(tmp_path / "r.jsonl", [quote(3.5, last="21001"), quote(0, last="21000"),
                                        fill(3.5, "f1", "buy", 1, "21001")])  # fmt: skip
    daemon = Daemon(replay(path, notices))
    asyncio.run(daemon.run())

    pushed = [(at, type(e).__name__) for at, e in daemon.seen]
    assert pushed == [(0, "ConnectionChange"), (0, "Quote"), (3.5, "Quote"), (3.5, "Fill"),
                      (3.5, "AccountUpdate")]  # fmt: skip
    assert daemon.ticks == [1, 2, 3]  # each rule tick at its own recorded second
    assert daemon.clock.now() == T0 + timedelta(seconds=3.5)  # time stops at the last event
    assert len(notices) == 1
    assert notices[0].startswith("replay_finished: Replay of r.jsonl finished: 3 recorded events")


def test_the_daemons_close_fills_at_the_recorded_far_side(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [
        quote(0, "ES", bid="6009.75", ask="6010.00"),
        fill(1, "f1", "buy", 2, "6010.00", "ES"),
        quote(60, "ES", bid="6019.75", ask="6020.00"),
    ])  # fmt: skip
    broker = replay(path)
    daemon = Daemon(broker)
    results: list[Any] = []

    async def close_on_entry(event: Event) -> None:
        results.append(await broker.close_position(ACCOUNT, "ES"))

    daemon.react = when("f1", close_on_entry)
    asyncio.run(daemon.run())

    [result] = results
    assert result.ok
    assert result.order_id == "replay-1"
    ours = [(at, e) for at, e in daemon.seen if isinstance(e, Fill) and e.event_id != "f1"]
    assert [(at, e.side, e.quantity, e.price, e.fee) for at, e in ours] == [
        (1, Side.SELL, 2, Decimal("6009.75"), Decimal("2.80"))  # at the bid, at the fill's time
    ]
    balances = [e.balance for _, e in daemon.seen if isinstance(e, AccountUpdate)]
    # 50,000 − 0.37 (the recorded fee), then − 25.00 (one ES tick on 2 lots) − 2.80 (2 × $1.40)
    assert balances == [Decimal("49999.63"), Decimal("49971.83")]
    statuses = [e.order.status for _, e in daemon.seen if isinstance(e, OrderUpdate)]
    assert statuses == [OrderStatus.WORKING, OrderStatus.FILLED]
    assert asyncio.run(broker.open_positions(ACCOUNT)) == []
    assert len(asyncio.run(broker.fills_since(ACCOUNT, T0))) == 2


def test_a_recorded_order_the_daemon_cancelled_leaves_no_trace_after(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [
        quote(0, last="21000"),
        order(1, "s1", "working", "20990"),
        order(5, "s1", "filled", "20990"),
        fill(5, "f1", "sell", 1, "20990", order_id="s1"),
    ])  # fmt: skip
    notices: list[str] = []
    broker = replay(path, notices)
    daemon = Daemon(broker)

    async def cancel(event: Event) -> None:
        assert (await broker.cancel_order(ACCOUNT, "s1")).ok

    daemon.react = when("s1:working", cancel)
    asyncio.run(daemon.run())

    orders = [e.order.status for _, e in daemon.seen if isinstance(e, OrderUpdate)]
    assert orders == [OrderStatus.WORKING, OrderStatus.CANCELLED]
    assert not [e for _, e in daemon.seen if isinstance(e, Fill)]
    assert "2 recorded event(s) of orders it cancelled dropped" in notices[0]


def test_a_protective_stop_fills_when_a_recorded_quote_crosses_it(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [
        quote(0, last="21000"), fill(1, "f1", "buy", 1, "21000"),
        quote(2, last="20995"), quote(3, last="20989.75"),
    ])  # fmt: skip
    broker = replay(path)
    daemon = Daemon(broker)

    async def protect(event: Event) -> None:
        await broker.place_order(ACCOUNT, "MNQ", Side.SELL, 1, OrderType.STOP,
                                 stop_price=Decimal("20990"))  # fmt: skip

    daemon.react = when("f1", protect)
    asyncio.run(daemon.run())

    stops = [(at, e.price) for at, e in daemon.seen if isinstance(e, Fill) and e.event_id != "f1"]
    assert stops == [(3, Decimal("20989.75"))]


def test_what_the_replay_cannot_do_is_refused_not_raised(tmp_path: Path) -> None:
    broker = replay(write(tmp_path / "r.jsonl", [quote(0, last="21000")]))

    async def scenario() -> list[str | None]:
        await broker.connect(lambda _event: None)
        answers = [
            await broker.close_position(ACCOUNT, "MNQ"),
            await broker.place_order(ACCOUNT, "ES", Side.BUY, 1, OrderType.MARKET),
            await broker.place_order(ACCOUNT, "MNQ", Side.BUY, 1, OrderType.LIMIT,
                                     limit_price=Decimal("20000")),
            await broker.cancel_order(ACCOUNT, "nope"),
        ]  # fmt: skip
        assert not any(answer.ok for answer in answers)
        return [answer.error for answer in answers]

    assert asyncio.run(scenario()) == [
        "no open position in MNQ",
        "no recorded price for ES yet",
        "the replay fills market and stop orders only",
        f"no working order nope on account {ACCOUNT}",
    ]


CONFIG = """
[broker]
kind = "replay"
[broker.replay]
recording = {path}
[accounts.REC-1]
"""


def _validate(path: str) -> Any:
    return validate_text(CONFIG.format(path=json.dumps(path)), "rm.toml", allow_empty=True)


def test_the_config_names_the_recording_and_its_bad_line(tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", [quote(0, last="1")])
    assert _validate(str(good)).broker.replay.recording == good

    bad = write(tmp_path / "bad.jsonl", [quote(0, last="1"), fill(1, "f1", "buy", 1, "1", "ZZ")])
    missing = tmp_path / "missing.jsonl"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    cases = {
        str(bad): f"{bad} line 2: unknown symbol 'ZZ' (known roots: ",
        str(missing): f"{missing}: cannot read the recording: No such file or directory",
        str(empty): f"{empty}: the recording has no events",
        "day.jsonl": "must be an absolute path, got 'day.jsonl'",
    }
    for path, problem in cases.items():
        with pytest.raises(ConfigError) as caught:
            _validate(path)
        [line] = caught.value.problems
        assert line.startswith(f"broker.replay.recording: {problem}"), line


def test_the_registry_builds_the_replay_from_its_config(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [quote(30, last="1")])
    config = _validate(str(path))
    paths = HomePaths(tmp_path / "home")
    context = registry.BrokerContext((("REC-1", "Recorded"),), paths, _wall())
    broker = registry.build(config.broker, context)
    assert broker.kind == "replay"
    assert isinstance(broker, ClockProvider)
    assert broker.clock().now() == T0 + timedelta(seconds=30)
    info = asyncio.run(broker.account_info("REC-1"))
    assert (info.name, info.balance, info.can_trade) == ("Recorded", Decimal("50000"), True)

    paths.ensure()
    paths.history_marker.touch()  # a daemon has run on this home
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(message.record["message"]), level="WARNING")
    try:
        registry.build(config.broker, context)
    finally:
        logger.remove(sink)
    [warning] = warnings
    assert "replay on a fresh home" in warning


def _wall() -> Clock:
    from risk_manager.clock import WallClock

    return WallClock()


def test_quotes_are_kept_as_recorded(tmp_path: Path) -> None:
    daemon = Daemon(replay(write(tmp_path / "r.jsonl", [quote(0, bid="1", ask="2")])))
    asyncio.run(daemon.run())
    assert [e for _, e in daemon.seen if isinstance(e, Quote)] == [
        Quote("MNQ", T0, Decimal("1"), Decimal("2"))
    ]


def test_events_of_accounts_not_configured_are_named_once(tmp_path: Path) -> None:
    other = {**fill(1, "f1", "buy", 1, "21000"), "account": "REC-9"}
    daemon = Daemon(replay(write(tmp_path / "r.jsonl", [quote(0, last="21000"), other])))
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(message.record["message"]), level="WARNING")
    try:
        asyncio.run(daemon.run())
    finally:
        logger.remove(sink)
    assert warnings == [
        "The recording has events of accounts not in [accounts], which the daemon ignores: REC-9"
    ]
