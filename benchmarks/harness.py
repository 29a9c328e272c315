"""In-process wiring of the data path (the daemon's parts without the API), for timing."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from loguru import logger

from risk_manager.brokers.base import EventSink
from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.brokers.simulated.config import SimulatedBrokerConfig
from risk_manager.bus import EventBus
from risk_manager.clock import WallClock
from risk_manager.config import parse_config
from risk_manager.config.models import Config
from risk_manager.domain.events import Event, Fill, OrderUpdate, Quote, Side
from risk_manager.domain.money import ZERO
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.executor import Executor
from risk_manager.pipeline import Pipeline
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store

ALL_RULES = """
max_contracts = {limit = 1000}
max_contracts_per_instrument = {default_limit = 1000}
daily_realized_loss = {limit = 1000000000, include_unrealized = true}
daily_unrealized_loss = {limit = 1000000000, scope = "total"}
max_unrealized_profit = {target = 1000000000}
trade_frequency_limit = {per_minute = 100000, per_hour = 100000, per_day = 100000}
cooldown_after_loss = {tiers = [{loss = 1000000000, minutes = 5}]}
no_stop_loss_grace = {grace_seconds = 86400}
auth_loss_guard = {}
symbol_blocks = {symbols = ["CL"]}
daily_realized_profit = {target = 1000000000}
trailing_drawdown = {max_loss = 1000000000, starting_balance = 50000, mode = "intraday"}
trailing_daily_loss = {limit = 1000000000}
weekly_realized_loss = {limit = 1000000000}

[trade_management]
breakeven_trigger_ticks = 90000
trail_activation_ticks = 100000
trail_distance_ticks = 10

[session_block_outside]
timezone = "UTC"
flatten_at_end = false
[[session_block_outside.windows]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:59:59"
"""


def config_for(accounts: int, profile_toml: str) -> Config:
    """A manual-market config with `accounts` accounts sharing one profile."""
    import tomllib

    profile = tomllib.loads(profile_toml) if profile_toml.strip() else {}
    return parse_config(
        {
            "broker": {"simulated": {"market": "manual"}},
            "accounts": {f"BENCH-{i}": {"profile": "p"} for i in range(accounts)},
            "profiles": {"p": profile},
        }
    )


@dataclass
class Harness:
    config: Config
    store: Store
    pipeline: Pipeline
    broker: SimulatedBroker
    engine: RiskEngine
    executor: Executor


async def build(config: Config, sink: EventSink | None = None) -> Harness:
    """Wire store, pipeline, simulator, engine and executor like the daemon does."""
    logger.remove()  # timing the pipeline, not the console
    home = Path(tempfile.mkdtemp(prefix="rm-bench-"))
    clock = WallClock()
    store = Store(home / "bench.sqlite3")
    accounts = [(a, a) for a in config.accounts]
    broker = SimulatedBroker(
        SimulatedBrokerConfig(market="manual"), accounts, home / "sim.sqlite3", clock
    )
    calendar = config.trading_day.calendar()
    bus = EventBus()
    pipeline = Pipeline(store, calendar, broker.contract_spec, bus)
    executor = Executor(broker, store, clock, bus)
    engine = RiskEngine(store, executor, calendar, broker.contract_spec, clock, pipeline.bus)
    engine.configure(config)
    pipeline.hooks = engine
    today = calendar.day_of(clock.now())
    with store.transaction():
        for account_id in config.accounts:
            account = AccountState(account_id, account_id, Decimal(50000), True, DayTotals(today))
            store.save_account(account)
            pipeline.add_account(account)

    def deliver(event: Event) -> None:
        # The executor waits on its own closes' order updates, as in the daemon; the rest of
        # the stream goes to `sink` (by default the benchmark feeds the pipeline directly).
        if isinstance(event, OrderUpdate):
            executor.observe(event.order)
        if sink is not None:
            sink(event)

    await broker.connect(deliver)
    return Harness(config, store, pipeline, broker, engine, executor)


def quotes(symbol: str, count: int, start: Decimal = Decimal("21000")) -> list[Quote]:
    """A deterministic see-saw of quotes on the tick grid."""
    ts = datetime.now(UTC)
    tick = Decimal("0.25")
    return [Quote(symbol, ts, last=start + tick * (i % 40 - 20)) for i in range(count)]


def round_trip_fills(account_id: str, count: int, prefix: str = "bench") -> list[Fill]:
    """Alternating buy 1 / sell 1 MNQ fills with unique ids (each one commits)."""
    ts = datetime.now(UTC)
    price = Decimal("21000")
    return [
        Fill(f"{prefix}:{account_id}:{i}", account_id, ts + timedelta(microseconds=i), "MNQ",
             Side.BUY if i % 2 == 0 else Side.SELL, 1, price, Decimal("0.37"))
        for i in range(count)
    ]  # fmt: skip


def open_position(harness: Harness, account_id: str, symbol: str = "MNQ", size: int = 2) -> None:
    """Hold a position so quotes revalue it (the real quote path)."""
    harness.pipeline.handle(
        Fill(f"open:{account_id}:{symbol}", account_id, datetime.now(UTC), symbol, Side.BUY,
             size, Decimal("21000"), ZERO)
    )  # fmt: skip


async def settle(harness: Harness) -> None:
    await harness.executor.drain()
