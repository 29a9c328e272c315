"""Wiring the daemon's parts together: store, broker, pipeline, engine, executor, auth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loguru import logger

from risk_manager.alert_watch import AlertWatch, attach_notifier
from risk_manager.auth import AdminAuth
from risk_manager.brokers import registry as brokers
from risk_manager.brokers.base import ClockProvider
from risk_manager.bus import EventBus
from risk_manager.clock import Clock, WallClock
from risk_manager.config import Config
from risk_manager.domain.money import ZERO
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.executor import Executor
from risk_manager.paths import HomePaths
from risk_manager.pipeline import Pipeline
from risk_manager.runtime import Intake, Runtime
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store
from risk_manager.storage_guard import StorageGuard


def assemble(
    config: Config, config_file: Path, paths: HomePaths, crashed: bool
) -> tuple[Runtime, AlertWatch]:
    """Open the store and wire broker, pipeline, engine and executor together; the runtime
    and the watch that turns its alerts into notifications."""
    store = Store(paths.database)
    names = tuple((account_id, a.name or account_id) for account_id, a in config.accounts.items())
    bus = EventBus()

    def broker_alert(kind: str, message: str) -> None:
        bus.alert(kind, "critical", message)

    def broker_notice(kind: str, message: str) -> None:
        bus.alert(kind, "info", message)

    context = brokers.BrokerContext(names, paths, WallClock(), broker_alert, broker_notice)
    broker = brokers.build(config.broker, context)
    # The simulator's test controls move its clock; a replay runs on recorded time.
    clock = broker.clock() if isinstance(broker, ClockProvider) else context.clock
    calendar = config.trading_day.calendar()
    pipeline = Pipeline(store, calendar, broker.contract_spec, bus)
    executor = Executor(broker, store, clock, bus, ledger=pipeline.signed_positions)
    engine = RiskEngine(store, executor, calendar, broker.contract_spec, clock, bus)
    engine.configure(config)
    pipeline.hooks = engine
    storage = StorageGuard(store, engine, pipeline, bus, clock)
    _load_accounts(config, store, pipeline, clock)
    for account in pipeline.accounts.values():
        engine.load_entries(account)
    auth = AdminAuth.from_file(paths.admin_secret, on_penalty=_admin_auth_slowed(bus))
    runtime = Runtime(
        config, config_file, paths, clock, store, pipeline, broker, bus, Intake(),
        engine, executor, crashed, auth, storage=storage,
    )  # fmt: skip
    alert_watch = attach_notifier(runtime)
    storage.check_start()
    if crashed:
        bus.alert("crash_recovered", "critical", "The previous run did not stop cleanly "
                  "(crash, kill or power loss); restarted and recovering")  # fmt: skip
    return runtime, alert_watch


def _load_accounts(config: Config, store: Store, pipeline: Pipeline, clock: Clock) -> None:
    today = pipeline.calendar.day_of(clock.now())
    with store.transaction():
        for account_id, settings in config.accounts.items():
            account = store.load_account(account_id, pipeline.spec_of)
            if account is None:
                account = AccountState(
                    account_id, settings.name or account_id, ZERO, True, DayTotals(today)
                )
                store.save_account(account)
                store.save_day(account_id, account.day)
            pipeline.add_account(account)


def _admin_auth_slowed(bus: EventBus) -> Callable[[int, int], None]:
    def slowed(failures: int, seconds: int) -> None:
        # Critical: reaches error.log (and the Windows Event Log) and, as an alert on the bus,
        # the notifications, so a human hears of it.
        message = (
            f"Admin auth slowed after {failures} consecutive failed logins: challenges wait "
            f"{seconds} s (risk-admin auth-reset clears it)"
        )
        logger.critical(message)
        bus.alert(
            "admin_auth_penalty", "critical", message, failures=failures, wait_seconds=seconds
        )

    return slowed
