"""The first connection to the broker and the first reconcile, retried while the broker cannot
be reached or does not answer.

No network yet at boot, the gateway down or a refused login must not end the start: a crash
loop under the supervisor enforces nothing either, while a daemon that is up serves its API,
says in /health why nothing is enforced, alerts once, and enforces the moment the broker answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

from risk_manager.brokers.base import BrokerAuthFailed, BrokerError, BrokerUnavailable, EventSink
from risk_manager.reconcile import reconcile
from risk_manager.runtime import Runtime

RETRY_MAX_SECONDS = 60.0


async def connect_with_retry(
    runtime: Runtime, sink: EventSink, on_failure: Callable[[], None]
) -> None:
    """Connect `runtime.broker` to `sink`, retrying with backoff (1 s doubling to 60 s).

    `on_failure` is called after each failed attempt (the start goes on without the broker).
    """
    delay, problem = 1.0, None
    while True:
        try:
            await runtime.broker.connect(sink)
        except (BrokerUnavailable, BrokerAuthFailed) as error:
            kind = "broker_auth_failed" if isinstance(error, BrokerAuthFailed) else (
                "broker_unreachable")  # fmt: skip
            runtime.broker_problem = str(error)
            if kind != problem:
                problem = kind
                runtime.critical(
                    kind, f"Cannot connect to the broker ({error}): nothing is enforced "
                    "until it answers; retrying",
                )  # fmt: skip
            logger.warning("Broker connect failed: {}; retrying in {:.0f} s", error, delay)
            on_failure()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        runtime.broker_problem = None
        if problem is not None:
            runtime.bus.alert("broker_connected", "info", "Connected to the broker again")
        return


async def reconcile_with_retry(runtime: Runtime, on_failure: Callable[[], None]) -> None:
    """The start's reconcile, retried with backoff while broker reads fail (a 429, a network
    blip): the process used to exit on the first one and rely on the supervisor."""
    delay, told = 1.0, False
    while True:
        try:
            await reconcile(runtime.broker, runtime.pipeline, runtime.clock)
        except BrokerError as error:
            runtime.broker_problem = f"reconcile: {error}"
            if not told:
                told = True
                runtime.critical(
                    "broker_unreachable", f"Cannot read the accounts from the broker ({error}): "
                    "nothing is enforced until it answers; retrying",
                )  # fmt: skip
            logger.warning("Start-up reconcile failed: {}; retrying in {:.0f} s", error, delay)
            on_failure()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        runtime.broker_problem = None
        if told:
            runtime.bus.alert("broker_connected", "info", "The broker answers again")
        return
