"""The daemon's health report (the brief's example, plus staleness, crashes and failures)."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import datetime
from typing import Any

import psutil

from risk_manager import __version__
from risk_manager.runtime import Runtime

_process = psutil.Process()


def health_report(runtime: Runtime) -> dict[str, Any]:
    """status, uptime, per-account link/last event/positions/lockout, memory and CPU."""
    now = runtime.clock.now()
    pipeline = runtime.pipeline
    stale = stale_symbols(runtime, now)
    accounts = {}
    for account_id, account in pipeline.accounts.items():
        age = age_seconds(account.last_event_at, now)
        accounts[account_id] = {
            "connected": account.connected,
            "last_event": age_text(age),
            "last_event_age_seconds": age,
            "positions": len(account.positions),
            "lockout": runtime.is_locked(account_id),
        }
    failures = runtime.enforcement_failures()
    storage = None if runtime.storage is None else runtime.storage.status()
    healthy = pipeline.connected and not stale and not failures and storage is None
    with _process.oneshot():
        memory_mb = _process.memory_info().rss / 1_048_576
        cpu = _process.cpu_percent(None)
    return {
        "status": "healthy" if healthy else "degraded",
        "uptime": int(runtime.uptime_seconds),
        "version": __version__,
        "pid": os.getpid(),
        "broker": {
            "kind": runtime.broker.kind,
            "connected": pipeline.connected,
            "error": runtime.broker_problem,
        },
        "accounts": accounts,
        "memory_usage_mb": round(memory_mb, 1),
        "cpu_usage_percent": round(cpu, 1),
        "stale_quotes": stale,
        "enforcement_failures": failures,
        "previous_run": "crashed" if runtime.previous_run_crashed else "clean",
        "state_restored": _restored(runtime),
        "storage": storage,
        "admin_auth": _admin_auth(runtime),
        "notifications": None if runtime.notifier is None else runtime.notifier.status(),
    }


def stale_symbols(runtime: Runtime, now: datetime) -> list[str]:
    """Held symbols whose last quote is older than `stale_quote_seconds`."""
    pipeline = runtime.pipeline
    stale_after = runtime.config.daemon.stale_quote_seconds
    return sorted(
        symbol
        for symbol, ts in pipeline.quote_times.items()
        if (now - ts).total_seconds() > stale_after
        and any(symbol in a.positions for a in pipeline.accounts.values())
    )


def _restored(runtime: Runtime) -> dict[str, str] | None:
    """What start-up restored, when the database was unusable (null otherwise)."""
    restored = runtime.state_restored
    return None if restored is None else asdict(restored)


def _admin_auth(runtime: Runtime) -> dict[str, Any] | None:
    """Whether repeated failed logins slow admin auth down (no secrets, no session counts)."""
    if runtime.auth is None:
        return None
    status = runtime.auth.status()
    return {key: status[key] for key in ("failures", "penalty_seconds")}


def age_text(seconds: float | None) -> str | None:
    """A human age like the brief's "2 seconds ago"."""
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{seconds} second{'s' if seconds != 1 else ''} ago"


def age_seconds(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 3)
