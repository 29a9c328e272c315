"""Broker adapters: one interface (`base`), a registry of kinds, several implementations.

Importing this package registers the built-in kinds.
"""

from risk_manager.brokers import projectx as projectx  # registers "projectx"
from risk_manager.brokers import replay as replay  # registers "replay"
from risk_manager.brokers import simulated as simulated  # registers "simulated" (the default)
