"""The pipeline never books what it cannot price: it reports it and carries on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from risk_manager.brokers.base import BrokerPosition
from risk_manager.bus import EventBus
from risk_manager.domain.contracts import lookup
from risk_manager.domain.events import Event, Fill, Side
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.pipeline import Pipeline
from risk_manager.state.ledger import AccountState, DayTotals, FillEffect
from risk_manager.state.store import Store

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class Recorder:
    """RiskHooks that only remember what they were told."""

    def __init__(self) -> None:
        self.unknown: list[tuple[str, str]] = []
        self.committed: list[Event] = []

    def on_committed(self, event: Event, account: AccountState, effect: FillEffect | None) -> None:
        self.committed.append(event)

    def on_unknown_contract(self, account: AccountState, symbol: str, source: str) -> None:
        self.unknown.append((symbol, source))

    def on_quote(self, symbol: str, accounts: Iterable[AccountState]) -> None: ...

    def on_day_rolled(self, account: AccountState) -> None: ...

    def on_reconciled(self, account: AccountState) -> None: ...

    def after_commit(self) -> None: ...


def pipeline_on(tmp_path: Path) -> tuple[Pipeline, Recorder]:
    store = Store(tmp_path / "daemon.sqlite3")
    calendar = TradingCalendar(time(17), ZoneInfo("America/Chicago"))
    pipeline = Pipeline(store, calendar, lookup, EventBus())
    pipeline.add_account(AccountState("A", "A", Decimal(50000), True, DayTotals(date(2026, 3, 10))))
    hooks = Recorder()
    pipeline.hooks = hooks
    return pipeline, hooks


def test_unknown_fill_is_claimed_not_booked_and_a_replay_is_a_duplicate(tmp_path: Path) -> None:
    pipeline, hooks = pipeline_on(tmp_path)
    fill = Fill("x1", "A", NOW, "ZZZ9", Side.BUY, 2, Decimal(100), Decimal(1))

    pipeline.handle(fill)
    pipeline.handle(fill)

    account = pipeline.accounts["A"]
    assert hooks.unknown == [("ZZZ9", "x1")]
    assert hooks.committed == []
    assert (account.positions, account.day.fills, account.day.fees) == ({}, 0, 0)
    assert pipeline.duplicates == 1


def test_unknown_broker_position_is_reported_not_adopted(tmp_path: Path) -> None:
    pipeline, hooks = pipeline_on(tmp_path)
    account = pipeline.accounts["A"]
    with pipeline.store.transaction():
        pipeline.adopt_position(account, "ZZZ9", BrokerPosition("A", "ZZZ9", 3, Decimal(5)), NOW)
        pipeline.adopt_position(account, "MNQ", BrokerPosition("A", "MNQ", 1, Decimal(21000)), NOW)

    assert hooks.unknown == [("ZZZ9", "broker position in ZZZ9")]
    assert {s: p.size for s, p in account.positions.items()} == {"MNQ": 1}
