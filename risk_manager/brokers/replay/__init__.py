"""The replay broker: plays a recorded session through the daemon on recorded time."""

from __future__ import annotations

from risk_manager.brokers.base import Broker
from risk_manager.brokers.registry import BrokerContext, register
from risk_manager.brokers.replay.config import ReplaySettings, load_recording


def _build(settings: ReplaySettings, context: BrokerContext) -> Broker:
    from risk_manager.brokers.replay.adapter import ReplayBroker

    config = settings.replay
    events = load_recording(config.recording)  # read once already, when the config validated
    return ReplayBroker(config.recording, events, context.accounts, config.starting_balance,
                        context.notice)  # fmt: skip


register("replay", ReplaySettings, _build)
