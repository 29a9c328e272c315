"""A small asyncio client for SignalR's JSON hub protocol (v1) over WebSockets.

Why not pysignalr: on a reconnect it reuses the URL of the first connection, so a renewed
token or a new negotiated connection id never reaches the server; it has no server timeout (a
silent server is waited on forever); and it pins its own websockets range plus aiohttp. The
subset the Gateway needs is small: negotiate (optional), the handshake, record-separated JSON,
invocations, completions, pings and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

RS = "\x1e"  # every SignalR JSON record ends with the ASCII record separator
INVOCATION, COMPLETION, PING, CLOSE = 1, 3, 6, 7
INVOKE_TIMEOUT_SECONDS = 10.0
Handler = Callable[[list[Any]], Awaitable[None]]
TokenSource = Callable[[str | None], Awaitable[str]]  # argument: the token just refused


class HubError(Exception):
    """The hub refused the connection or an invocation, or broke the protocol."""


class HubUnauthorized(HubError):
    """The hub answered 401: the token must be renewed."""


def frame(*messages: dict[str, Any]) -> str:
    """Encode messages as one text frame of record-separated JSON."""
    return "".join(json.dumps(message, separators=(",", ":")) + RS for message in messages)


def records(data: str | bytes) -> list[Any]:
    """Decode one frame into its messages; a frame may carry several."""
    complete, _ = split_records(data.decode() if isinstance(data, bytes) else data)
    return complete


def split_records(text: str) -> tuple[list[Any], str]:
    """The complete records in `text` and the unterminated rest (kept for the next frame)."""
    *parts, rest = text.split(RS)
    return [json.loads(part) for part in parts if part.strip()], rest


def backoff_seconds(attempt: int, rng: random.Random, base: float, cap: float) -> float:
    """Exponential backoff with jitter: half fixed, half random, so clients do not stampede."""
    ceiling = min(cap, base * 2 ** min(attempt, 16))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class HubConnection:
    """One hub: connects, keeps the connection alive and reconnects until stopped.

    `on_open` runs after every (re)connection (the Gateway keeps no subscriptions); `on_close`
    after every loss. Pushes go to the handler registered for their target.
    """

    def __init__(
        self,
        name: str,
        url: str,
        token: TokenSource,
        *,
        on_open: Callable[[], Awaitable[None]],
        on_close: Callable[[str], Awaitable[None]],
        negotiate: bool = True,
        server_timeout: float = 30.0,
        keepalive: float = 10.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.handlers: dict[str, Handler] = {}
        self.connected = asyncio.Event()
        self._token = token
        self._on_open = on_open
        self._on_close = on_close
        self._negotiate = negotiate
        self._server_timeout = server_timeout
        self._keepalive = keepalive
        self._backoff = (backoff_base, backoff_cap)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ws: ClientConnection | None = None
        self._stopping = False
        self._refused_token: str | None = None
        self._token_used: str | None = None
        self._unknown_targets: set[str] = set()
        self._drop_reason: str | None = None

    def on(self, target: str, handler: Handler) -> None:
        self.handlers[target] = handler

    async def run(self) -> None:
        """Connect and reconnect (backoff with jitter) until `stop()`."""
        attempt = 0
        while not self._stopping:
            opened, reason = False, "closed by the server"
            try:
                opened = await self._session()
            except HubUnauthorized as error:
                self._refused_token, reason = self._token_used, str(error)
            except ValueError as error:  # JSON that is not JSON
                reason = f"protocol error: {error}"
            except Exception as error:
                # Network, protocol, login: whatever failed, this loop must outlive it and try
                # again (a dead hub task would leave the account unwatched for good).
                reason = f"{type(error).__name__}: {error}"
            if self._stopping:
                return
            if opened:
                attempt = 0
            delay = backoff_seconds(attempt, self._rng, *self._backoff)
            attempt += 1
            logger.warning("{} hub: {}; reconnecting in {:.1f} s", self.name, reason, delay)
            await asyncio.sleep(delay)

    async def invoke(self, target: str, *args: Any) -> Any:
        """Call a hub method and wait for its completion; HubError if it failed."""
        ws = self._ws
        if ws is None:
            raise HubError(f"{self.name} hub is not connected")
        invocation_id = str(next(self._ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = future
        message = {"type": INVOCATION, "invocationId": invocation_id, "target": target,
                   "arguments": list(args)}  # fmt: skip
        try:
            await ws.send(frame(message))
            return await asyncio.wait_for(future, INVOKE_TIMEOUT_SECONDS)
        finally:
            self._pending.pop(invocation_id, None)

    def drop(self, reason: str) -> None:
        """Close the current connection (e.g. a stalled feed); `run` reconnects."""
        ws = self._ws
        if ws is not None:
            logger.warning("{} hub: dropping the connection: {}", self.name, reason)
            self._drop_reason = reason
            asyncio.get_running_loop().create_task(ws.close(code=1000, reason=reason[:100]))

    async def stop(self) -> None:
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _session(self) -> bool:
        """One connection from handshake to loss; True if it got as far as being open."""
        token = self._token_used = await self._token(self._refused_token)
        connection_id = await self._negotiated_id(token) if self._negotiate else None
        try:
            ws = await connect(self._ws_url(token, connection_id), open_timeout=10,
                               ping_interval=None, close_timeout=2, max_size=2**22)  # fmt: skip
        except InvalidStatus as error:
            if error.response.status_code == 401:
                raise HubUnauthorized(f"{self.name} hub refused the token (HTTP 401)") from None
            raise
        self._refused_token = None
        reader: asyncio.Task[None] | None = None
        pinger: asyncio.Task[None] | None = None
        opened = False
        try:
            backlog = await self._handshake(ws)
            self._ws = ws
            reader = asyncio.create_task(self._read(ws, backlog), name=f"{self.name}-hub-reader")
            pinger = asyncio.create_task(self._ping(ws), name=f"{self.name}-hub-ping")
            await self._on_open()
            opened = True
            self.connected.set()
            await reader
        finally:
            self._ws = None
            self.connected.clear()
            for task in (reader, pinger):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(HubError(f"{self.name} hub connection lost"))
            with contextlib.suppress(Exception):
                await ws.close()
            reason, self._drop_reason = self._drop_reason or "connection lost", None
            if opened and not self._stopping:
                await self._on_close(reason)
        return opened

    async def _negotiated_id(self, token: str) -> str | None:
        url = self.url.rstrip("/") + "/negotiate?negotiateVersion=1"
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(url, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            raise HubUnauthorized(f"{self.name} hub negotiate refused the token (HTTP 401)")
        if response.status_code in (404, 405):
            return None  # a server without negotiation: connect straight away
        if response.status_code != 200:
            raise HubError(f"{self.name} hub negotiate: HTTP {response.status_code}")
        reply = response.json()
        # negotiateVersion 1 servers hand out a connectionToken; version 0 only a connectionId.
        connection = reply.get("connectionToken") or reply.get("connectionId")
        if not isinstance(connection, str) or not connection:
            raise HubError(f"{self.name} hub negotiate: no connection id")
        return connection

    def _ws_url(self, token: str, connection_id: str | None) -> str:
        parts = urlsplit(self.url)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        query = parse_qsl(parts.query)
        if connection_id:
            query.append(("id", connection_id))
        query.append(("access_token", token))
        return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))

    async def _handshake(self, ws: ClientConnection) -> list[Any]:
        await ws.send(frame({"protocol": "json", "version": 1}))
        messages = records(await asyncio.wait_for(ws.recv(), self._server_timeout))
        if not messages or not isinstance(messages[0], dict):
            raise HubError(f"{self.name} hub: no handshake reply")
        if messages[0].get("error"):
            raise HubError(f"{self.name} hub handshake refused: {messages[0]['error']}")
        return messages[1:]  # messages that shared the handshake's frame

    async def _read(self, ws: ClientConnection, backlog: list[Any]) -> None:
        for message in backlog:
            await self._dispatch(message)
        partial = ""  # a record may in principle span two frames
        while True:
            try:
                data = await asyncio.wait_for(ws.recv(), self._server_timeout)
            except TimeoutError:
                # The server pings every ~15 s: this much silence means the link is dead.
                raise HubError(f"no message for {self._server_timeout:.0f} s") from None
            text = data.decode() if isinstance(data, bytes) else data
            complete, partial = split_records(partial + text)
            for message in complete:
                await self._dispatch(message)

    async def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise HubError("a record that is not a JSON object")
        kind = message.get("type")
        if kind == INVOCATION:
            target = str(message.get("target"))
            handler = self.handlers.get(target)
            if handler is None:
                if target not in self._unknown_targets:
                    self._unknown_targets.add(target)
                    logger.info("{} hub: ignoring pushes of unknown target {}", self.name, target)
                return
            arguments = message.get("arguments")
            await handler(arguments if isinstance(arguments, list) else [])
        elif kind == COMPLETION:
            future = self._pending.get(str(message.get("invocationId")))
            if future is not None and not future.done():
                if message.get("error"):
                    future.set_exception(HubError(str(message["error"])))
                else:
                    future.set_result(message.get("result"))
        elif kind == CLOSE:
            raise HubError(f"server closed the hub: {message.get('error') or 'no reason given'}")

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._keepalive)
            await ws.send(frame({"type": PING}))
