"""Trader routes (no auth): clock-in / clock-out, the personal lockout (a trader may only add
restrictions, never lift one), and the live event stream for dashboards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from risk_manager import __version__
from risk_manager.api.deps import RuntimeDep
from risk_manager.api.envelope import ApiError, ok
from risk_manager.api.views import pnl_view
from risk_manager.bus import DROPPED, Message
from risk_manager.enforcement.lockouts import lockout_view
from risk_manager.enforcement.personal import personal_request
from risk_manager.runtime import Runtime
from risk_manager.trader_sessions import SessionConflict, TraderSessions

router = APIRouter(prefix="/api/v1", tags=["trader"])

KEEP_ALIVE_SECONDS = 15.0


async def get_sessions(request: Request) -> TraderSessions:
    return request.app.state.trader_sessions


SessionsDep = Annotated[TraderSessions, Depends(get_sessions)]


@router.post("/trader/clock-in", summary="Start a trading session (409 if already clocked in)")
async def clock_in(sessions: SessionsDep, runtime: RuntimeDep) -> dict[str, Any]:
    try:
        return ok(sessions.clock_in(runtime.clock.now()))
    except SessionConflict as error:
        raise ApiError(409, error.code, error.message) from None


@router.post("/trader/clock-out", summary="End the session: its duration and the week's total")
async def clock_out(sessions: SessionsDep, runtime: RuntimeDep) -> dict[str, Any]:
    try:
        return ok(sessions.clock_out(runtime.clock.now()))
    except SessionConflict as error:
        raise ApiError(409, error.code, error.message) from None


class PersonalLock(BaseModel):
    """Exactly one of `minutes`, `until` or `rest_of_day`."""

    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(None, max_length=64, description="default: every account")
    minutes: int | None = Field(None, gt=0, le=7 * 24 * 60, strict=True, examples=[120])
    until: datetime | None = Field(None, description="an instant with a UTC offset")
    rest_of_day: bool = Field(False, strict=True, description="until the daily reset")


@router.post(
    "/trader/lock",
    summary="Lock yourself out: flatten, cancel, no trading until the end (only extendable)",
)
async def lock(body: PersonalLock, runtime: RuntimeDep) -> dict[str, Any]:
    accounts = runtime.pipeline.accounts
    if body.account_id is not None and body.account_id not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        raise ApiError(404, "account_not_found", f"no account {body.account_id!r} (known: {known})")
    now = runtime.clock.now()
    request = personal_request(
        now, runtime.pipeline.calendar,
        minutes=body.minutes, until=body.until, rest_of_day=body.rest_of_day,
    )  # fmt: skip
    targets = [body.account_id] if body.account_id else list(accounts)
    results = []
    for account_id in targets:
        lockout, applied = runtime.engine.personal_lock(accounts[account_id], request)
        results.append({"account_id": account_id, "applied": applied,
                        "lockout": lockout_view(lockout, now)})  # fmt: skip
    await runtime.settle()
    return ok({"locks": results})


@router.get("/trader/sessions", summary="The current session and this week's sessions")
async def trader_sessions(sessions: SessionsDep, runtime: RuntimeDep) -> dict[str, Any]:
    return ok(sessions.overview(runtime.clock.now()))


# -- Server-Sent Events -----------------------------------------------------------------------


def hello(runtime: Runtime) -> dict[str, Any]:
    """The stream's first message: a status-like snapshot to draw before any update."""
    now = runtime.clock.now()
    pipeline = runtime.pipeline
    accounts = []
    for account in pipeline.accounts.values():
        active = runtime.engine.lockouts.active(account.account_id)
        accounts.append(
            {
                "name": account.name,
                "can_trade": account.can_trade,
                "connected": account.connected,
                "positions": len(account.positions),
                "contracts": account.gross_contracts,
                "lockout": bool(active),
                **runtime.engine.gate.view(account, now),
                "lockouts": [lockout_view(lockout, now) for lockout in active],
                **pnl_view(account),
            }
        )
    return {
        "version": __version__,
        "now": now.isoformat(),
        "timezone": runtime.config.trading_day.timezone,
        "broker": runtime.broker.kind,
        "connected": pipeline.connected,
        "trading_day": str(pipeline.calendar.day_of(now)),
        "next_reset": pipeline.calendar.next_reset(now).isoformat(),
        "accounts": accounts,
    }


def sse(kind: str, data: Any) -> str:
    """One SSE message; JSON has no raw newlines, so `data` is a single line."""
    return f"event: {kind}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


def wire(message: Message) -> str:
    """The message as SSE text, encoded once however many streams send it (the bus hands the
    same dict to every listener, so the first stream to send it caches the text there)."""
    text = message.get("sse")
    if text is None:
        text = message["sse"] = sse(message["type"], message["data"])
    return str(text)


async def event_stream(runtime: Runtime) -> AsyncIterator[str]:
    """hello, then bus messages as they come; keep-alives; ends when the daemon stops.

    A client disconnect cancels this generator (Starlette listens for it), which closes the
    bus subscription and the stop watcher in the `finally` blocks.
    """
    with runtime.bus.listen() as queue:
        stopping = asyncio.ensure_future(runtime.stop_requested.wait())
        try:
            yield sse("hello", hello(runtime))
            while not stopping.done():
                message = await _next(queue, stopping)
                if message is None:
                    if not stopping.done():
                        yield ": keep-alive\n\n"
                    continue
                # Whatever else is queued goes in the same write: a stream that fell behind
                # catches up in one send instead of one per message.
                batch = [message]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                yield "".join(wire(item) for item in batch)
                if batch[-1] is DROPPED:  # the bus sends nothing after it
                    logger.warning("Dropped a live-event client that fell too far behind")
                    return
        finally:
            stopping.cancel()


async def _next(queue: asyncio.Queue[Message], stopping: asyncio.Future[Any]) -> Message | None:
    """The next bus message, or None on a keep-alive timeout or when the daemon stops."""
    if not queue.empty():
        return queue.get_nowait()
    getter = asyncio.ensure_future(queue.get())
    try:
        await asyncio.wait(
            {getter, stopping}, timeout=KEEP_ALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not getter.done():
            getter.cancel()  # Queue.get() gives the slot back when cancelled
    return getter.result() if getter.done() and not getter.cancelled() else None


@router.get(
    "/events",
    summary="Live events (Server-Sent Events): hello snapshot, then fills, PnL, lockouts...",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an SSE stream"}},
)
async def events(runtime: RuntimeDep) -> StreamingResponse:
    return StreamingResponse(
        event_stream(runtime),
        media_type="text/event-stream",
        # no-transform / X-Accel-Buffering: proxies must not buffer or compress the stream.
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
