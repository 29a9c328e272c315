"""Build the configured broker adapter."""

from __future__ import annotations

from risk_manager.brokers.base import Broker
from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.clock import Clock
from risk_manager.config.models import Config
from risk_manager.paths import HomePaths


def build_broker(config: Config, paths: HomePaths, clock: Clock) -> Broker:
    """The adapter for `[broker] kind`."""
    accounts = [(account_id, a.name or account_id) for account_id, a in config.accounts.items()]
    return SimulatedBroker(
        config.broker.simulated, accounts, paths.state_dir / "simulator.sqlite3", clock
    )
