"""The embedded paper exchange: runs the whole pipeline with no credentials."""

from __future__ import annotations

from risk_manager.brokers.base import Broker
from risk_manager.brokers.registry import BrokerContext, register
from risk_manager.brokers.simulated.config import SimulatedSettings
from risk_manager.clock import ShiftableClock


def _build(settings: SimulatedSettings, context: BrokerContext) -> Broker:
    # Imported here so that validating a config does not load the exchange and its database.
    from risk_manager.brokers.simulated.adapter import SimulatedBroker

    state_file = context.paths.state_dir / "simulator.sqlite3"
    # Its own clock, which it offers the daemon (ClockProvider): the test controls move it.
    clock = ShiftableClock()
    return SimulatedBroker(settings.simulated, list(context.accounts), state_file, clock)


register("simulated", SimulatedSettings, _build)
