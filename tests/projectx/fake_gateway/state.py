"""Everything the fake Gateway knows, owned by its event loop: exchange, sessions, faults."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.projectx.fake_gateway.exchange import Exchange, ExchangeError, Push, now_iso

if TYPE_CHECKING:
    from tests.projectx.fake_gateway.hubs import HubSession
_SIGNING_KEY = b"fake-gateway-signing-key"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(user: str, exp: float) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": user, "exp": int(exp), "jti": time.monotonic_ns()}
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


@dataclass
class Fault:
    """A scripted failure of the next `times` calls to `path`."""

    path: str
    kind: str  # "429", "500", "false" (success: false with `code`), "hang" (no reply in time)
    times: int = 1
    act: bool = False  # carry the request out first, then fail the reply
    code: int = 5
    hang_seconds: float = 30.0


class SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.sent: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()
        if len(self.sent) >= self.limit:
            return False
        self.sent.append(now)
        return True


class GatewayState:
    def __init__(self, username: str, api_key: str, window: SlidingWindow) -> None:
        self.username = username
        self.api_key = api_key
        self.login_error = 0  # a loginKey errorCode to answer every login with
        self.token_ttl = 24 * 3600.0
        self.tokens: dict[str, float] = {}  # token → exp (epoch seconds)
        self.window = window
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, Any, float]] = []
        self.trade_pushes: list[tuple[float, dict[str, Any]]] = []  # (monotonic time, trade)
        self.request_seen = asyncio.Event()
        self.negotiated: set[str] = set()
        self.sessions: dict[str, list[HubSession]] = defaultdict(list)
        self.stalled: set[str] = set()  # hubs whose pushes are withheld (socket stays open)
        self.wrap = True  # user-hub payloads as {"action": 1, "data": ...} (seen in practice)
        self.fill_delay = 0.02  # market fills follow the acknowledgement
        self.exchange = Exchange(self.route)

    # Tokens.

    def issue_token(self) -> str:
        exp = time.time() + self.token_ttl
        token = make_token(self.username, exp)
        self.tokens[token] = exp
        return token

    def token_valid(self, token: str | None) -> bool:
        return token is not None and self.tokens.get(token, 0) > time.time()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if 24 h had passed)."""
        self.tokens.clear()

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path == path and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    # Exchange → hubs.

    def route(self, pushes: list[Push]) -> None:
        """Send the pushes of one exchange change to subscribers, as one frame each."""
        now = time.monotonic()
        self.trade_pushes += [(now, r) for t, _, r in pushes if t == "GatewayUserTrade"]
        if "user" in self.stalled:
            return
        for session in self.sessions["user"]:
            messages = []
            for target, account_id, record in pushes:
                if session.wants(target, account_id):
                    payload = {"action": 1, "data": record} if self.wrap else record
                    messages.append({"type": 1, "target": target, "arguments": [payload]})
            session.send(messages)

    def quote(self, contract_id: str, price: Decimal) -> None:
        if "market" in self.stalled:
            return
        data = {"symbol": ".".join(contract_id.split(".")[1:4]), "symbolName": contract_id,
                "lastPrice": float(price), "bestBid": float(price), "bestAsk": float(price),
                "timestamp": now_iso()}  # fmt: skip
        message = {"type": 1, "target": "GatewayQuote", "arguments": [contract_id, data]}
        for session in self.sessions["market"]:
            if session.wants("GatewayQuote", contract_id):
                session.send([message])

    def schedule_fills(self, contract_id: str) -> None:
        """Orders the price executes fill shortly after their acknowledgement."""
        loop = asyncio.get_running_loop()
        loop.call_later(self.fill_delay, self.fill_ready, contract_id)

    def fill_ready(self, contract_id: str) -> None:
        for order in self.exchange.triggered(contract_id):
            try:
                self.exchange.fill(order)
            except ExchangeError:
                return  # no price yet: it fills on the next price

    def set_price(self, contract_id: str, price: Decimal) -> None:
        self.exchange.prices[contract_id] = price
        self.quote(contract_id, price)
        self.fill_ready(contract_id)
