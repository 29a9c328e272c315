"""Broker kinds: `kind` → (settings model, factory). The daemon builds its broker from here.

An adapter registers itself once, at import:

    register("projectx", ProjectXSettings, build_projectx)

- `ProjectXSettings` subclasses `risk_manager.config.broker.BrokerSettings` with
  `kind: Literal["projectx"] = "projectx"` and its own fields (conventionally one sub-table,
  `[broker.projectx]`); it becomes a member of the `[broker]` union.
- `build_projectx(settings, context) -> Broker` gets the validated settings and a
  `BrokerContext`; it must not do I/O (the daemon calls `connect` later).

Built-in kinds are registered by `risk_manager.brokers` (imported by the package root, so every
entry point sees them). Extra kinds come from the modules named in the environment variable
`RISK_MANAGER_BROKER_PLUGINS` (comma-separated), imported by `load_plugins()` at daemon start:
a config cannot select a kind whose module was not explicitly loaded.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from risk_manager.brokers.base import Broker
from risk_manager.clock import Clock
from risk_manager.config.broker import BrokerSettings, register_settings
from risk_manager.paths import HomePaths

PLUGINS_ENV = "RISK_MANAGER_BROKER_PLUGINS"

S = TypeVar("S", bound=BrokerSettings)


Alert = Callable[[str, str], None]  # (kind, one human sentence)


def _no_alert(kind: str, message: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class BrokerContext:
    """What a factory may use besides its settings."""

    accounts: tuple[tuple[str, str], ...]  # (account id, display name) from `[accounts]`
    paths: HomePaths  # state_dir for the adapter's own files, secrets for credentials
    clock: Clock  # the wall clock; an adapter that owns the daemon's time is a ClockProvider
    # For what only the adapter can see and a human must hear (e.g. the broker logging the
    # session out); the daemon publishes these on its bus.
    alert: Alert = _no_alert
    # For what an operator should see but need not act on (a replay finished).
    notice: Alert = _no_alert


Factory = Callable[[Any, BrokerContext], Broker]
_FACTORIES: dict[str, Factory] = {}


def register(kind: str, settings: type[S], factory: Callable[[S, BrokerContext], Broker]) -> None:
    """Add a broker kind (or replace the one of that name)."""
    register_settings(kind, settings)
    _FACTORIES[kind] = factory


def build(settings: BrokerSettings, context: BrokerContext) -> Broker:
    """The adapter for validated `[broker]` settings."""
    try:
        factory = _FACTORIES[settings.kind]
    except KeyError:
        raise LookupError(f"no broker kind {settings.kind!r} is registered") from None
    return factory(settings, context)


def load_plugins(environ: dict[str, str] | None = None) -> list[str]:
    """Import the modules named in RISK_MANAGER_BROKER_PLUGINS; returns their names."""
    value = (os.environ if environ is None else environ).get(PLUGINS_ENV, "")
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        importlib.import_module(name)
    return names
