"""The replay broker: plays a recorded session through the daemon on recorded time."""

from __future__ import annotations

from loguru import logger

from risk_manager.brokers.base import Broker
from risk_manager.brokers.registry import BrokerContext, register
from risk_manager.brokers.replay.config import ReplaySettings, load_recording


def _build(settings: ReplaySettings, context: BrokerContext) -> Broker:
    from risk_manager.brokers.replay.adapter import ReplayBroker

    config = settings.replay
    events = load_recording(config.recording)  # read once already, when the config validated
    if context.paths.history_marker.exists():
        # Lockouts, counters and days of the earlier run stay in its state: they would mix.
        logger.warning("This home has run a daemon before: the replay starts from the state it "
                       "left; replay on a fresh home to see the recording alone")  # fmt: skip
    return ReplayBroker(config.recording, events, context.accounts, config.starting_balance,
                        context.notice)  # fmt: skip


register("replay", ReplaySettings, _build)
