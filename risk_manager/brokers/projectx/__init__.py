"""The TopstepX / ProjectX Gateway adapter: REST for reads and actions, SignalR hubs for events."""

from __future__ import annotations

from risk_manager.brokers.base import Broker
from risk_manager.brokers.projectx.config import ProjectXSettings
from risk_manager.brokers.registry import BrokerContext, register


def _build(settings: ProjectXSettings, context: BrokerContext) -> Broker:
    # Imported here so that validating a config does not load the HTTP and WebSocket clients.
    from risk_manager.brokers.projectx.adapter import ProjectXBroker

    paths = context.paths
    return ProjectXBroker(
        settings.projectx, context.accounts, paths.state_dir, paths.secrets_dir, context.clock,
        alert=context.alert,
    )  # fmt: skip


register("projectx", ProjectXSettings, _build)
