"""Run the fake Gateway on a loopback port in a background thread, with test controls.

Controls are plain methods, safe to call from the test's thread: each runs on the fake's own
event loop and returns when it has taken effect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from tests.projectx.fake_gateway import rest
from tests.projectx.fake_gateway.exchange import BID, MARKET
from tests.projectx.fake_gateway.hubs import bearer, encode, hub_endpoint, negotiate
from tests.projectx.fake_gateway.state import Fault, GatewayState, SlidingWindow

T = TypeVar("T")
USERNAME, API_KEY = "trader@example.com", "test-api-key-0123456789"


async def _api(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = ...
    status, reply = await rest.dispatch(
        state, request.path_params["path"], body, bearer(request.headers, {})
    )
    if reply is None:
        return Response(status_code=status)
    return Response(json.dumps(reply), status_code=status, media_type="application/json")


async def _ping(request: Request) -> Response:
    return PlainTextResponse("pong")


class FakeGateway:
    def __init__(self, rate_limit: tuple[int, float] = (200, 60.0),
                 ping_interval: float = 10.0, port: int = 0) -> None:  # fmt: skip
        self.state = GatewayState(USERNAME, API_KEY, SlidingWindow(*rate_limit))
        app = Starlette(routes=[
            Route("/api/Status/ping", _ping, methods=["GET"]),
            Route("/api/{path:path}", _api, methods=["POST"]),
            Route("/hubs/{hub}/negotiate", negotiate, methods=["POST"]),
            WebSocketRoute("/hubs/{hub}", hub_endpoint),
        ])  # fmt: skip
        app.state.gateway = self.state
        app.state.ping_interval = ping_interval
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Accepted connections inherit it: no Nagle delay between a reply's headers and body.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, ws="websockets-sansio", log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)  # fmt: skip
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fake-gateway", daemon=True)

    def start(self) -> FakeGateway:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        self._loop.close()

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the fake's loop and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # Setup.

    def add_account(self, account_id: int, name: str, balance: str = "50000") -> None:
        self.call(lambda: self.state.exchange.add_account(account_id, name, Decimal(balance)))

    def set_price(self, contract_id: str, price: str | Decimal) -> None:
        self.call(lambda: self.state.set_price(contract_id, Decimal(str(price))))

    # The trader, on the platform.

    def trade(self, account_id: int, contract_id: str, side: int, size: int, type_: int = MARKET,
              limit: str | None = None, stop: str | None = None,
              brackets: dict[str, int] | None = None) -> int:  # fmt: skip
        def place() -> int:
            order = self.state.exchange.place(
                account_id, contract_id, type_, side, size,
                None if limit is None else Decimal(limit), None if stop is None else Decimal(stop),
                brackets=brackets,
            )  # fmt: skip
            self.state.schedule_fills(contract_id)
            return order.id

        return self.call(place)

    def buy(self, account_id: int, contract_id: str, size: int, **kw: Any) -> int:
        return self.trade(account_id, contract_id, BID, size, **kw)

    def set_can_trade(self, account_id: int, can_trade: bool) -> None:
        self.call(lambda: self.state.exchange.set_can_trade(account_id, can_trade))

    # Faults.

    def fail(self, path: str, kind: str, times: int = 1, act: bool = False, code: int = 5,
             hang_seconds: float = 30.0) -> None:  # fmt: skip
        """The next `times` calls to `path` fail (`act`: after carrying the request out)."""
        fault = Fault(path, kind, times, act, code, hang_seconds)
        self.call(lambda: self.state.faults.append(fault))

    def set(self, **settings: Any) -> None:
        """Change `wrap`, `fill_delay`, `token_ttl` or `login_error`."""

        def apply() -> None:
            for name, value in settings.items():
                if not hasattr(self.state, name):
                    raise AttributeError(name)
                setattr(self.state, name, value)

        self.call(apply)

    def expire_tokens(self) -> None:
        self.call(self.state.expire_tokens)

    def stall(self, hub: str, stalled: bool = True) -> None:
        """Withhold every push of `hub` (pings go on, the socket stays open); pushes are lost."""
        self.call(lambda: (self.state.stalled.add if stalled else self.state.stalled.discard)(hub))

    def drop(self, hub: str) -> int:
        """Close every connection of `hub` abruptly; returns how many there were."""

        async def close_all() -> int:
            sessions = list(self.state.sessions[hub])
            for session in sessions:
                await session.ws.close(code=1011)
            return len(sessions)

        return asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(10)

    def push(self, hub: str, messages: list[dict[str, Any]], raw: str | None = None) -> None:
        """Send invocation records (or a raw frame) to every client of `hub`."""

        async def send() -> None:
            for session in self.state.sessions[hub]:
                await session.ws.send_text(raw if raw is not None else encode(messages))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def logout(self) -> None:
        """The Gateway's `GatewayLogout`: the same user logged in elsewhere."""
        self.push("user", [{"type": 1, "target": "GatewayLogout", "arguments": []}])

    # Observations.

    def requests(self, path: str | None = None) -> list[tuple[str, Any, float]]:
        return self.call(lambda: [r for r in self.state.requests if path in (None, r[0])])

    def wait_request(self, path: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        """Wait until `path` was called `count` times; returns the bodies."""
        deadline = time.monotonic() + timeout
        while True:
            found = [body for p, body, _ in self.requests(path)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} called {len(found)} time(s), expected {count}")
            time.sleep(0.02)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.call(predicate):
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached")
            time.sleep(0.02)

    def subscribers(self, hub: str) -> int:
        return self.call(lambda: len(self.state.sessions[hub]))

    def position(self, account_id: int, contract_id: str) -> int:
        return self.call(lambda: self.state.exchange.position_size(account_id, contract_id))

    def history(self, account_id: int, contract_id: str) -> list[int]:
        """The position after every fill on the contract, oldest first."""
        return self.call(lambda: [size for a, c, size in self.state.exchange.history
                                  if (a, c) == (account_id, contract_id)])  # fmt: skip

    def working(self, account_id: int) -> list[dict[str, Any]]:
        return self.call(lambda: [o.record() for o in self.state.exchange.working(account_id)])
