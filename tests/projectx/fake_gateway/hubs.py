"""The fake Gateway's SignalR hubs: JSON protocol v1 over real WebSockets.

Accepts clients that negotiate first (`POST {hub}/negotiate`, then `?id=`) and clients that
skip negotiation; the token comes in `access_token` or an Authorization header. Records end
with 0x1E and one frame may carry several; the server pings and completes invocations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.projectx.fake_gateway.state import GatewayState

RS = "\x1e"
SUBSCRIPTIONS = {
    "user": {"SubscribeAccounts": "GatewayUserAccount", "SubscribeOrders": "GatewayUserOrder",
             "SubscribePositions": "GatewayUserPosition", "SubscribeTrades": "GatewayUserTrade"},
    "market": {"SubscribeContractQuotes": "GatewayQuote", "SubscribeContractTrades": "GatewayTrade",
               "SubscribeContractMarketDepth": "GatewayDepth"},
}  # fmt: skip


def encode(messages: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(m, separators=(",", ":")) + RS for m in messages)


def bearer(headers: Any, query: Any) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return str(auth[7:])
    token = query.get("access_token")
    return str(token) if token else None


class HubSession:
    """One client connection to one hub."""

    def __init__(self, hub: str, ws: WebSocket, state: GatewayState) -> None:
        self.hub = hub
        self.ws = ws
        self.state = state
        self.topics: set[tuple[str, Any]] = set()  # (push target, accountId or contractId)
        self.outbox: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()

    def wants(self, target: str, key: Any) -> bool:
        return (target, key) in self.topics or (target, None) in self.topics

    def send(self, messages: list[dict[str, Any]]) -> None:
        if messages:
            self.outbox.put_nowait(messages)

    async def run(self, ping_interval: float) -> None:
        writer = asyncio.create_task(self._write())
        pinger = asyncio.create_task(self._ping(ping_interval))
        try:
            while True:
                for message in _records(await self.ws.receive_text()):
                    if not await self._handle(message):
                        return
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            for task in (writer, pinger):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _handle(self, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == 7:
            return False
        if kind != 1:
            return True  # pings need no answer
        target, args = message.get("target"), message.get("arguments") or []
        error = self._subscribe(str(target), args)
        if message.get("invocationId") is not None:
            completion: dict[str, Any] = {"type": 3, "invocationId": message["invocationId"]}
            completion.update({"error": error} if error else {"result": None})
            self.send([completion])
        return True

    def _subscribe(self, target: str, args: list[Any]) -> str | None:
        table = SUBSCRIPTIONS[self.hub]
        name = target.removeprefix("Un") if target.startswith("Unsubscribe") else target
        push = table.get(name)
        if push is None:
            return f"Method does not exist: {target}"
        key = args[0] if args else None
        if name != "SubscribeAccounts" and key is None:
            return f"{target} needs an argument"
        if target.startswith("Unsubscribe"):
            self.topics.discard((push, key))
        else:
            self.topics.add((push, key))
        return None

    async def _write(self) -> None:
        while True:
            batch = await self.outbox.get()
            # Everything queued meanwhile goes out in the same frame: several records per frame.
            while not self.outbox.empty():
                batch.extend(self.outbox.get_nowait())
            await self.ws.send_text(encode(batch))

    async def _ping(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.send([{"type": 6}])


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(part) for part in text.split(RS) if part.strip()]


async def negotiate(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    if not state.token_valid(bearer(request.headers, request.query_params)):
        return Response(status_code=401)
    transports = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
    reply = {"connectionId": secrets.token_urlsafe(16), "availableTransports": transports}
    if request.query_params.get("negotiateVersion", "0") != "0":
        # Version 1: the client connects with the separate connectionToken.
        reply.update(negotiateVersion=1, connectionToken=secrets.token_urlsafe(16))
        state.negotiated.add(reply["connectionToken"])
    else:
        reply["negotiateVersion"] = 0  # version 0: the connectionId is the id to connect with
        state.negotiated.add(reply["connectionId"])
    return JSONResponse(reply)


async def hub_endpoint(ws: WebSocket) -> None:
    state: GatewayState = ws.app.state.gateway
    hub = ws.path_params["hub"]
    if hub not in SUBSCRIPTIONS:
        await ws.close(code=1008)
        return
    if not state.token_valid(bearer(ws.headers, ws.query_params)):
        await ws.send_denial_response(Response(status_code=401))
        return
    connection = ws.query_params.get("id")
    if connection is not None:
        if connection not in state.negotiated:
            await ws.send_denial_response(Response(status_code=404))
            return
        state.negotiated.discard(connection)  # a negotiated connection token is single-use
    await ws.accept()
    try:
        handshake = _records(await ws.receive_text())
    except (WebSocketDisconnect, ValueError):
        return
    if not handshake or handshake[0].get("protocol") != "json":
        await ws.send_text(encode([{"error": "Only the JSON protocol is supported."}]))
        await ws.close()
        return
    session = HubSession(hub, ws, state)
    await ws.send_text(encode([{}]))
    state.sessions[hub].append(session)
    try:
        await session.run(ws.app.state.ping_interval)
    finally:
        state.sessions[hub].remove(session)
