"""Carry out enforcement batches at the broker: per account one at a time, accounts in parallel.

Every step checks the broker first and acts only on what is still there, so a batch re-run
after a crash completes the work instead of repeating it. Failures retry with backoff and
escalate as critical after the last attempt.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from risk_manager.brokers.base import Broker, BrokerError, BrokerResult
from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.domain.events import OrderType, Side
from risk_manager.enforcement import journal
from risk_manager.enforcement.planner import Step
from risk_manager.rules.base import ActionKind
from risk_manager.state.store import Store

RETRY_DELAYS = (0.05, 0.2, 0.5)  # three retries after the first attempt
FLATTEN_ROUNDS = 5  # new fills can land mid-flatten; go round until the broker says flat
# A batch that still fails is escalated, then tried again at a slower pace for as long as it
# takes: exposure owed to a breach must not stay open because the broker hiccupped.
SLOW_RETRY_SECONDS = (5.0, 15.0, 30.0, 60.0)
OWED = frozenset({ActionKind.FLATTEN, ActionKind.CLOSE, ActionKind.REDUCE, ActionKind.CANCEL})


class StepFailed(Exception):
    """The broker did not reach the state the step asked for."""


@dataclass
class Batch:
    batch_id: int
    account_id: str
    steps: list[Step]
    detected_at: float = field(default_factory=time.perf_counter)
    first_action_at: float | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 0
    retry_scheduled: bool = False


class Executor:
    """Owns one worker task per account with work queued."""

    def __init__(
        self, broker: Broker, store: Store, clock: Clock, bus: EventBus | None = None
    ) -> None:
        self.broker = broker
        self.store = store
        self.clock = clock
        self.bus = bus or EventBus()
        self.failures = 0
        self._queues: dict[str, asyncio.Queue[Batch]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._busy: dict[str, set[tuple[ActionKind, str | None]]] = {}

    def busy(self, account_id: str) -> set[tuple[ActionKind, str | None]]:
        """Step keys queued or running for the account (the planner skips these)."""
        return self._busy.setdefault(account_id, set())

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
        while True:
            batch = await queue.get()
            try:
                await self._run(batch)
            except Exception as error:
                logger.opt(exception=True).critical("Enforcement batch {} crashed", batch.batch_id)
                self.failures += 1
                self._close(batch, "failed", f"internal error: {error!r}")
            finally:
                if not batch.retry_scheduled:  # a scheduled retry keeps its steps reserved
                    self.busy(account_id).difference_update(step.key for step in batch.steps)
                queue.task_done()

    async def _run(self, batch: Batch) -> None:
        failed: list[tuple[Step, str]] = []
        for step in batch.steps:
            try:
                await self._with_retries(batch, step)
            except (StepFailed, BrokerError) as error:
                failed.append((step, f"{step.kind.name.lower()} {step.symbol or ''}: {error}"))
        log = logger.bind(channel="enforcement", account=batch.account_id)
        if not failed:
            outcome = _summary(batch)
            self._close(batch, "done", outcome)
            log.info("Enforcement batch {} done: {}", batch.batch_id, outcome)
            return
        self.failures += 1
        outcome = "; ".join(reason for _, reason in failed)
        owed = [step for step, _ in failed if step.kind in OWED]
        if not owed:
            self._close(batch, "failed", outcome)
            log.critical("Enforcement batch {} FAILED: {}", batch.batch_id, outcome)
            return
        delay = SLOW_RETRY_SECONDS[min(batch.attempt, len(SLOW_RETRY_SECONDS) - 1)]
        # Still owed: stays 'pending' in the store, so a restart resumes it too.
        self._close(batch, "pending", f"retrying in {delay:.0f} s after: {outcome}")
        log.critical("Enforcement batch {} FAILED (attempt {}): {}; retrying in {:.0f} s",
                     batch.batch_id, batch.attempt + 1, outcome, delay)  # fmt: skip
        retry = Batch(batch.batch_id, batch.account_id, owed, batch.detected_at,
                      batch.first_action_at, batch.responses, batch.attempt + 1)  # fmt: skip
        batch.retry_scheduled = True
        self.busy(batch.account_id).difference_update(
            step.key for step in batch.steps if step not in owed
        )
        asyncio.get_running_loop().call_later(delay, self._requeue, retry)

    def _requeue(self, batch: Batch) -> None:
        queue = self._queues[batch.account_id]
        queue.put_nowait(batch)
        worker = self._workers.get(batch.account_id)
        if worker is None or worker.done():
            self._workers[batch.account_id] = asyncio.create_task(
                self._work(batch.account_id, queue), name=f"enforce-{batch.account_id}"
            )

    def _close(self, batch: Batch, status: str, outcome: str) -> None:
        done = time.perf_counter()
        first = batch.first_action_at
        first_ms = None if first is None else round((first - batch.detected_at) * 1e3, 3)
        latency_ms = round((done - batch.detected_at) * 1e3, 3)
        with self.store.transaction() as db:
            journal.close_batch(
                db, batch.batch_id, status=status, responses=batch.responses, outcome=outcome,
                first_action_ms=first_ms, latency_ms=latency_ms, now=self.clock.now(),
            )  # fmt: skip
        # "pending" here means it failed and a retry is scheduled (the batch is still owed).
        self.bus.publish("enforcement", {
            "account_id": batch.account_id, "batch_id": batch.batch_id, "status": status,
            "outcome": outcome, "attempt": batch.attempt + 1, "latency_ms": latency_ms,
        })  # fmt: skip

    async def _with_retries(self, batch: Batch, step: Step) -> None:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                await self._execute(batch, step)
                return
            except (StepFailed, BrokerError) as error:
                if delay is None:
                    raise
                logger.bind(channel="enforcement", account=batch.account_id).warning(
                    "Step {} attempt {} failed ({}); retrying in {} s",
                    step.to_json(), attempt + 1, error, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)

    def _sent(self, batch: Batch, step: Step, result: BrokerResult) -> BrokerResult:
        if batch.first_action_at is None:
            batch.first_action_at = time.perf_counter()
        batch.responses.append({"step": step.to_json(), **result.journal()})
        return result

    async def _position(self, account_id: str, symbol: str) -> int:
        for position in await self.broker.open_positions(account_id):
            if position.symbol == symbol:
                return position.size
        return 0

    async def _cancel_orders(self, batch: Batch, step: Step, symbol: str | None) -> None:
        account = batch.account_id
        for order in await self.broker.open_orders(account):
            if symbol is None or order.symbol == symbol:
                self._sent(batch, step, await self.broker.cancel_order(account, order.order_id))
        left = [o for o in await self.broker.open_orders(account) if symbol in (None, o.symbol)]
        if left:
            raise StepFailed(f"{len(left)} order(s) still working")

    async def _execute(self, batch: Batch, step: Step) -> None:
        account, broker = batch.account_id, self.broker
        if step.kind is ActionKind.FLATTEN:
            for _ in range(FLATTEN_ROUNDS):
                await self._cancel_orders(batch, step, None)
                positions = [p for p in await broker.open_positions(account) if p.size]
                if not positions:
                    return
                for position in positions:
                    self._sent(batch, step, await broker.close_position(account, position.symbol))
            raise StepFailed("still not flat after repeated closes")
        if step.kind is ActionKind.CLOSE:
            assert step.symbol is not None
            await self._cancel_orders(batch, step, step.symbol)
            for _ in range(FLATTEN_ROUNDS):
                if not await self._position(account, step.symbol):
                    return
                self._sent(batch, step, await broker.close_position(account, step.symbol))
            raise StepFailed("position still open after repeated closes")
        if step.kind is ActionKind.REDUCE:
            assert step.symbol is not None
            assert step.target is not None
            size = abs(await self._position(account, step.symbol))
            if size > step.target:
                excess = size - step.target
                self._sent(batch, step, await broker.partial_close(account, step.symbol, excess))
                if abs(await self._position(account, step.symbol)) > step.target:
                    raise StepFailed(f"still above {step.target} contracts")
            return
        if step.kind is ActionKind.CANCEL:
            await self._cancel_orders(batch, step, step.symbol)
            return
        if step.kind is ActionKind.PLACE_STOP:
            await self._place_stop(batch, step)
            return
        if step.kind is ActionKind.MOVE_STOP:
            assert step.order_id is not None
            orders = {o.order_id: o for o in await broker.open_orders(account)}
            order = orders.get(step.order_id)
            if order is None or order.stop_price == step.price:
                return  # filled or cancelled meanwhile, or already moved
            result = await broker.modify_order(account, step.order_id, stop_price=step.price)
            if not self._sent(batch, step, result).ok:
                raise StepFailed(result.error or "refused by the broker")

    async def _place_stop(self, batch: Batch, step: Step) -> None:
        assert step.symbol is not None
        assert step.side is not None
        assert step.quantity is not None
        side = Side(step.side)
        for order in await self.broker.open_orders(batch.account_id):
            if order.symbol == step.symbol and order.type.is_protective and order.side == side:
                return  # a stop is already there (placed before a crash, or by the trader)
        result = await self.broker.place_order(
            batch.account_id, step.symbol, side, step.quantity, OrderType.STOP,
            stop_price=step.price,
        )  # fmt: skip
        if not self._sent(batch, step, result).ok:
            raise StepFailed(result.error or "refused by the broker")


def _summary(batch: Batch) -> str:
    sent = len(batch.responses)
    kinds = ", ".join(
        f"{s.kind.name.lower()}{' ' + s.symbol if s.symbol else ''}" for s in batch.steps
    )
    return f"{kinds}: {sent} broker request(s)" if sent else f"{kinds}: nothing left to do"
