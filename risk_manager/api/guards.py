"""ASGI guards in front of every route: loopback Host only, bounded request bodies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from risk_manager.api.envelope import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(header: str) -> str:
    """The host part of a Host header: "127.0.0.1:5555" → "127.0.0.1", "[::1]:80" → "::1"."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The unread rest of a refused body must not be parsed as the next request.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class GuardMiddleware:
    """Refuses non-loopback Host headers (DNS rebinding) and bodies over `max_body` bytes.

    The body limit counts the bytes actually received, whatever the headers claim: the
    whole body is read here (at most `max_body` bytes, within `body_timeout` seconds)
    before the application sees any of it, then replayed.
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int, extra_hosts: frozenset[str],
        body_timeout: float = 30.0,
    ) -> None:  # fmt: skip
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.allowed = LOOPBACK_HOSTS | extra_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        host = host_name(_header(headers, b"host").decode("latin-1").strip().lower())
        if host not in self.allowed:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _reply(send, 403, "forbidden_host", f"Host {host!r} is not allowed")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        try:
            self._check_framing(headers)
            async with asyncio.timeout(self.body_timeout):
                messages = await self._read_body(receive)
        except _Refused as refused:
            await _reply(send, refused.status, refused.code, refused.message)
            return
        except TimeoutError:
            message = f"the request body did not arrive within {self.body_timeout:g} s"
            await _reply(send, 408, "request_timeout", message)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    def _check_framing(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Refuse ambiguous framing (RFC 9112 §6.1, §6.3) and a declared length over the limit."""
        lengths = [value for name, value in headers if name == b"content-length"]
        chunked = any(name == b"transfer-encoding" for name, _ in headers)
        if lengths and chunked:
            raise _Refused(400, "bad_framing",
                           "Content-Length and Transfer-Encoding together are refused")  # fmt: skip
        if len(lengths) > 1:
            raise _Refused(400, "bad_framing", "more than one Content-Length header")
        if lengths and (not lengths[0].isdigit() or int(lengths[0]) > self.max_body):
            raise self._too_large()

    async def _read_body(self, receive: Receive) -> list[Message]:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_body:
                raise self._too_large()
            if message["type"] != "http.request" or not message.get("more_body"):
                return messages

    def _too_large(self) -> _Refused:
        return _Refused(413, "body_too_large", f"request body over {self.max_body} bytes")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    return next((value for key, value in headers if key == name), b"")
