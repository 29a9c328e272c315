"""Carry out enforcement batches at the broker: per account one at a time, accounts in parallel.

Every step checks the broker first and acts only on what is still there, and remembers the
closing orders it sent until their outcome is known (see `steps`), so a batch re-run after a
failure or a crash completes the work instead of repeating it; those closing orders are
journaled in the store, so after a crash `recover` settles them before anything else is sent
(see `recovery`). Failures retry with backoff and escalate as critical after the last attempt;
what is still owed is then retried at a slow pace.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from risk_manager.brokers.base import (
    Broker,
    BrokerAuthFailed,
    BrokerError,
    OrderRejected,
    enforcing,
)
from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.domain.events import Order
from risk_manager.enforcement.inflight import OrderBook
from risk_manager.enforcement.planner import Step
from risk_manager.enforcement.recovery import settle_left_over
from risk_manager.enforcement.steps import Ledger, Record, StepFailed, StepRunner, Timing
from risk_manager.rules.base import ActionKind
from risk_manager.state.store import Store

OWED = frozenset({ActionKind.FLATTEN, ActionKind.CLOSE, ActionKind.REDUCE, ActionKind.CANCEL})


@dataclass
class Batch:
    batch_id: int
    account_id: str
    steps: list[Step]
    detected_at: float = field(default_factory=time.perf_counter)
    first_action_at: float | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 0


class Executor:
    """Owns one worker task per account with work queued."""

    def __init__(
        self,
        broker: Broker,
        store: Store,
        clock: Clock,
        bus: EventBus | None = None,
        timing: Timing | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.bus = bus or EventBus()
        self.timing = timing or Timing()
        self.failures = 0
        self.orders = OrderBook(store)
        # Accounts whose broker login was refused: no step is attempted until it works again.
        self.auth_halted: dict[str, str] = {}
        self._queues: dict[str, asyncio.Queue[Batch]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._busy: dict[str, set[tuple[ActionKind, str | None]]] = {}
        # The previous run's unsettled closing orders are loaded now, not when the broker
        # answers: a batch that runs before (an admin flatten while the broker is away, retried
        # as it connects) must count them too. Accounts whose restored sends are not settled:
        self._restored = self.orders.restore()
        self._left_over = {sent.account_id for sent in self._restored}

    def observe(self, order: Order) -> None:
        """An order update from the broker's stream (the executor waits on its own orders)."""
        self.orders.observe(order)

    def busy(self, account_id: str) -> set[tuple[ActionKind, str | None]]:
        """Step keys of batches queued but not started, or owed by a scheduled retry (the planner
        skips these; a running step does not cover what a later fill adds)."""
        return self._busy.setdefault(account_id, set())

    def recover(self) -> None:
        """Settle the closing orders the previous run sent but never saw settled (loaded when
        the executor was built): each account's worker settles its own before it runs any
        batch (call once, when the broker is connected)."""
        for sent in self._restored:
            logger.bind(channel="enforcement", account=sent.account_id).warning(
                "Closing order for {} sent by the previous run at {}: outcome unknown, "
                "settling it before anything else is sent", sent.symbol, sent.sent_at,
            )  # fmt: skip
        self._restored = []
        for account_id in self._left_over:
            self._queues.setdefault(account_id, asyncio.Queue())
            self._start(account_id)

    def submit(self, batch: Batch) -> None:
        """Queue a committed batch; starts the account's worker if needed."""
        self.busy(batch.account_id).update(step.key for step in batch.steps)
        self._queues.setdefault(batch.account_id, asyncio.Queue())
        self._requeue(batch)

    async def drain(self) -> None:
        """Wait until every queued batch has been carried out (for a graceful stop)."""
        await asyncio.gather(*(queue.join() for queue in self._queues.values()))

    async def close(self) -> None:
        for worker in self._workers.values():
            worker.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _work(self, account_id: str, queue: asyncio.Queue[Batch]) -> None:
        enforcing.set(True)  # this task's broker requests are enforcement (see brokers.base)
        if account_id in self._left_over:
            await self._settle_left_over(account_id)
        while True:
            batch = await queue.get()
            # A step looks at the broker when it starts, so a fill that lands while it runs (an
            # entry during a lockout, say) is covered only by a batch queued after it: from here
            # on the planner may queue one more for the same keys.
            self.busy(account_id).difference_update(step.key for step in batch.steps)
            try:
                await self._run(batch)
            except Exception as error:
                logger.opt(exception=True).critical("Enforcement batch {} crashed", batch.batch_id)
                self.failures += 1
                self._close(batch, "failed", f"internal error: {error!r}")
            finally:
                queue.task_done()

    async def _run(self, batch: Batch) -> None:
        failed: list[tuple[Step, str]] = []
        if await self._login_refused(batch.account_id):
            failed = [(step, self.auth_halted[batch.account_id]) for step in batch.steps]
        runner = self._runner(batch.account_id,
                              lambda step, response: self._sent(batch, step, response))  # fmt: skip
        for step in batch.steps if not failed else ():
            try:
                await self._with_retries(runner, step)
            except BrokerAuthFailed as error:
                self.auth_halted[batch.account_id] = f"broker login refused: {error}"
                failed += [(s, self.auth_halted[batch.account_id]) for s in batch.steps]
                break
            except (StepFailed, BrokerError) as error:
                failed.append((step, f"{step.kind.name.lower()} {step.symbol or ''}: {error}"))
        log = logger.bind(channel="enforcement", account=batch.account_id)
        if not failed:
            outcome = _summary(batch)
            self._close(batch, "done", outcome)
            log.info("Enforcement batch {} done: {}", batch.batch_id, outcome)
            return
        self.failures += 1
        outcome = "; ".join(dict.fromkeys(reason for _, reason in failed))
        owed = [step for step, _ in failed if step.kind in OWED]
        if not owed:
            self._close(batch, "failed", outcome)
            log.critical("Enforcement batch {} FAILED: {}", batch.batch_id, outcome)
            return
        slow = self.timing.slow_retry_s
        delay = slow[min(batch.attempt, len(slow) - 1)]
        # Still owed: stays 'pending' in the store, so a restart resumes it too.
        self._close(batch, "pending", f"retrying in {delay:.0f} s after: {outcome}")
        log.critical("Enforcement batch {} FAILED (attempt {}): {}; retrying in {:.0f} s",
                     batch.batch_id, batch.attempt + 1, outcome, delay)  # fmt: skip
        retry = Batch(batch.batch_id, batch.account_id, owed, batch.detected_at,
                      batch.first_action_at, batch.responses, batch.attempt + 1)  # fmt: skip
        # The retry will look at the broker again when it runs: it covers these keys meanwhile.
        self.busy(batch.account_id).update(step.key for step in owed)
        asyncio.get_running_loop().call_later(delay, self._requeue, retry)

    def _runner(self, account_id: str, record: Record) -> StepRunner:
        return StepRunner(self.broker, account_id, self.orders, self.clock, self.timing, record,
                          self.ledger or (lambda _account: {}))  # fmt: skip

    async def _settle_left_over(self, account_id: str) -> None:
        self._left_over.discard(account_id)
        log = logger.bind(channel="enforcement", account=account_id)
        try:
            await settle_left_over(self._runner(account_id, lambda _step, _response: None))
        except (StepFailed, BrokerError) as error:
            log.warning("Closing orders of the previous run not settled yet ({}); the next "
                        "closing step for their symbol settles them first", error)  # fmt: skip
        except Exception:
            log.opt(exception=True).critical("Settling the previous run's closing orders crashed")

    async def _login_refused(self, account_id: str) -> bool:
        """While an account's login is refused, probe it instead of sending anything."""
        if account_id not in self.auth_halted:
            return False
        try:
            await self.broker.account_info(account_id)
        except BrokerAuthFailed as error:
            self.auth_halted[account_id] = f"broker login refused: {error}"
            return True
        except BrokerError:
            pass  # reachable again or not, the steps find out
        logger.bind(account=account_id).warning("Broker login works again; enforcing")
        del self.auth_halted[account_id]
        return False

    def _requeue(self, batch: Batch) -> None:
        self._queues[batch.account_id].put_nowait(batch)
        self._start(batch.account_id)

    def _start(self, account_id: str) -> None:
        """Start the account's worker unless it runs."""
        worker = self._workers.get(account_id)
        if worker is None or worker.done():
            self._workers[account_id] = asyncio.create_task(
                self._work(account_id, self._queues[account_id]), name=f"enforce-{account_id}"
            )

    def _close(self, batch: Batch, status: str, outcome: str) -> None:
        done = time.perf_counter()
        first = batch.first_action_at
        first_ms = None if first is None else round((first - batch.detected_at) * 1e3, 3)
        latency_ms = round((done - batch.detected_at) * 1e3, 3)
        with self.store.transaction():
            self.store.journal.close(
                batch.batch_id, status=status, responses=batch.responses, outcome=outcome,
                first_action_ms=first_ms, latency_ms=latency_ms, now=self.clock.now(),
            )  # fmt: skip
        # "pending" here means it failed and a retry is scheduled (the batch is still owed).
        self.bus.publish("enforcement", {
            "account_id": batch.account_id, "batch_id": batch.batch_id, "status": status,
            "outcome": outcome, "attempt": batch.attempt + 1, "latency_ms": latency_ms,
        })  # fmt: skip

    async def _with_retries(self, runner: StepRunner, step: Step) -> None:
        """Fast retries for what may pass on a second try; a refusal or lost login is final."""
        delays = self.timing.retry_delays
        for attempt, delay in enumerate((*delays, None)):
            try:
                await runner.run(step)
                return
            except (OrderRejected, BrokerAuthFailed):
                raise
            except (StepFailed, BrokerError) as error:
                if delay is None:
                    raise
                logger.bind(channel="enforcement", account=runner.account_id).warning(
                    "Step {} attempt {} failed ({}); retrying in {} s",
                    step.to_json(), attempt + 1, error, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)

    def _sent(self, batch: Batch, step: Step, response: dict[str, object]) -> None:
        if batch.first_action_at is None:
            batch.first_action_at = time.perf_counter()
        batch.responses.append({"step": step.to_json(), **response})


def _summary(batch: Batch) -> str:
    sent = len(batch.responses)
    kinds = ", ".join(
        f"{s.kind.name.lower()}{' ' + s.symbol if s.symbol else ''}" for s in batch.steps
    )
    return f"{kinds}: {sent} broker request(s)" if sent else f"{kinds}: nothing left to do"
