"""The first connection to the broker and the first reconcile, retried while the broker cannot
be reached or does not answer.

No network yet at boot, the gateway down, a refused login or failing account reads must not
end the start: a crash loop under the supervisor enforces nothing either, while a daemon that
is up serves its API, says in /health why nothing is enforced, alerts once, and enforces the
moment the broker answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

from risk_manager.brokers.base import BrokerAuthFailed, BrokerError, BrokerUnavailable, EventSink
from risk_manager.reconcile import reconcile
from risk_manager.runtime import Runtime

RETRY_MAX_SECONDS = 60.0


async def connect_with_retry(
    runtime: Runtime, sink: EventSink, on_failure: Callable[[], None]
) -> None:
    """Connect `runtime.broker` to `sink`; `on_failure` is told of each failed attempt (the
    start goes on without the broker)."""
    await _until_it_answers(
        runtime, lambda: runtime.broker.connect(sink), "connect", "Cannot connect to the broker",
        (BrokerUnavailable, BrokerAuthFailed), on_failure,
    )  # fmt: skip


async def reconcile_with_retry(runtime: Runtime, on_failure: Callable[[], None]) -> None:
    """The start's reconcile, retried while broker reads fail (a 429, a network blip)."""
    await _until_it_answers(
        runtime, lambda: reconcile(runtime.broker, runtime.pipeline, runtime.clock),
        "reconcile", "Cannot read the accounts from the broker", (BrokerError,), on_failure,
    )  # fmt: skip


async def _until_it_answers(
    runtime: Runtime,
    attempt: Callable[[], Awaitable[object]],
    what: str,
    alarm: str,
    errors: tuple[type[BrokerError], ...],
    on_failure: Callable[[], None],
) -> None:
    """Run `attempt` until it succeeds, 1 s doubling to 60 s between tries; one critical alert
    per kind of failure, /health's `broker.error` while it fails, an info alert once it works."""
    delay, told = 1.0, None
    while True:
        try:
            await attempt()
        except errors as error:
            kind = "broker_auth_failed" if isinstance(error, BrokerAuthFailed) else (
                "broker_unreachable")  # fmt: skip
            runtime.broker_problem = f"{what}: {error}"
            if kind != told:
                told = kind
                runtime.critical(
                    kind, f"{alarm} ({error}): nothing is enforced until it answers; retrying"
                )
            logger.warning("Broker {} failed: {}; retrying in {:.0f} s", what, error, delay)
            on_failure()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        runtime.broker_problem = None
        if told is not None:
            runtime.bus.alert("broker_connected", "info", "The broker answers again")
        return
