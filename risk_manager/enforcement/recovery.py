"""Closing orders a previous run sent but never saw the outcome of (it crashed in between).

`OrderBook.restore` reloads them from the store as sends whose outcome is unknown. Before an
account's first batch runs, its worker settles them here exactly like sends whose reply was
lost: the broker's order is looked for (the stream, its open orders, recent fills), its final
state and the position reflecting it are awaited (bounded), and only then may another close be
planned for the symbol; what is still working stays counted as being closed.

A send older than `Timing.stale_send_s` is not matched by its shape any more (a later order of
the trader's could look the same): it is resolved by asking the broker for its order id, or
among the working orders placed within that bound of it, and is otherwise dropped, because any
fill it caused shows in the broker's position long since.
"""

from __future__ import annotations

from datetime import timedelta

from risk_manager.domain.events import Order, OrderStatus
from risk_manager.enforcement.inflight import Sent
from risk_manager.enforcement.steps import StepRunner


async def settle_left_over(runner: StepRunner) -> None:
    """Settle the account's restored sends (BrokerError when the broker cannot be asked)."""
    book, account_id = runner.book, runner.account_id
    stale = timedelta(seconds=runner.timing.stale_send_s)
    now = runner.clock.now()
    for sent in book.open_sends(account_id):
        if now - sent.sent_at > stale:
            await _resolve_stale(runner, sent, stale)
    for symbol in sorted({sent.symbol for sent in book.open_sends(account_id)}):
        await runner.settle(symbol)


async def _resolve_stale(runner: StepRunner, sent: Sent, stale: timedelta) -> None:
    broker, book, account_id = runner.broker, runner.book, runner.account_id
    order: Order | None
    if sent.order_id is not None:
        order = await broker.order_status(account_id, sent.order_id)
    else:
        placed_by = sent.sent_at + stale
        working = await broker.open_orders(account_id)
        order = next(
            (o for o in working if book.could_be(sent, o) and o.updated_at <= placed_by), None
        )
        if order is not None:
            book.claim(sent, order.order_id)
    if order is None or order.status is not OrderStatus.WORKING:
        book.done(sent)
