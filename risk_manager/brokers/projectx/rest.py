"""The Gateway's REST side: login and token refresh, the envelope, errors and the rate budget."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from risk_manager.brokers.base import (
    BrokerAuthFailed,
    BrokerUnavailable,
    OrderRejected,
    OutcomeUnknown,
    enforcing,
)
from risk_manager.brokers.projectx.errors import login_error
from risk_manager.brokers.projectx.ratelimit import RateBudget

REFRESH_MARGIN_SECONDS = 3600.0  # tokens live 24 h; renew an hour before they expire
REFRESH_FRACTION = 0.1  # ...or, for short-lived tokens, when a tenth of the lifetime is left
SLOW_DOWN_SECONDS = 5.0  # routine traffic pauses this long after a 429


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    api_key: SecretStr

    def __repr__(self) -> str:  # never print the key, even by accident
        return f"Credentials(username={self.username!r}, api_key=***)"


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (epoch seconds), read without verifying the signature."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


class GatewayRest:
    """POST-with-JSON calls to `{base}/api/...`, each answered by the success envelope."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        budget: RateBudget,
        timeout_seconds: float = 10.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._budget = budget
        self._wall = wall
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None
        self._expires_at: float | None = None
        self._margin = REFRESH_MARGIN_SECONDS
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def token(self, force: bool = False) -> str:
        """A valid session token: logs in, or renews one that is about to expire."""
        async with self._token_lock:
            if self._token is None or (force and self._token_is_stale()):
                await self._login()
            elif self._expires_soon():
                await self._renew()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """The server refused `token` (401): the next `token(force=True)` logs in again."""
        if self._token == token:
            self._expires_at = 0.0

    async def call(
        self, path: str, body: dict[str, Any] | None, *, action: bool, urgent: bool = False
    ) -> dict[str, Any]:
        """One request; returns the envelope (also when `success` is false on an action).

        `action` marks calls that change state at the broker: a lost reply raises
        OutcomeUnknown instead of BrokerUnavailable. Actions, reads marked `urgent` and every
        request made for the executor (`enforcing`) may use the budget's enforcement reserve.
        """
        for attempt in (1, 2):
            token = await self.token(force=attempt == 2)
            urgent = urgent or action or enforcing.get()
            status, reply = await self._post(path, body, token, action, urgent)
            if status == 401:
                # Unauthorized requests are not acted on: renewing and sending once more is safe.
                self.invalidate(token)
                continue
            return self._envelope(path, status, reply, action)
        raise BrokerAuthFailed(f"{path}: the Gateway refused a fresh token (HTTP 401)")

    async def ping(self) -> float:
        """Round trip of `GET /api/Status/ping` in seconds (no token needed)."""
        started = time.perf_counter()
        await self._budget.acquire(urgent=False)
        try:
            response = await self._http.get("/api/Status/ping")
        except httpx.HTTPError as error:
            raise BrokerUnavailable(f"ping: {type(error).__name__}") from None
        if response.status_code != 200:
            raise BrokerUnavailable(f"ping: HTTP {response.status_code}")
        return time.perf_counter() - started

    async def _post(
        self, path: str, body: dict[str, Any] | None, token: str | None, action: bool,
        urgent: bool,
    ) -> tuple[int, Any]:  # fmt: skip
        await self._budget.acquire(urgent=urgent)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.post(path, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            # Never reached the server: nothing can have happened there.
            raise BrokerUnavailable(f"{path}: {type(error).__name__}") from None
        except httpx.HTTPError as error:
            if action:
                raise OutcomeUnknown(f"{path}: {type(error).__name__} after sending") from None
            raise BrokerUnavailable(f"{path}: {type(error).__name__}") from None
        if response.status_code == 429:
            self._budget.slow_down(SLOW_DOWN_SECONDS)
        try:
            reply = response.json() if response.content else None
        except ValueError:
            reply = None
        return response.status_code, reply

    def _envelope(self, path: str, status: int, reply: Any, action: bool) -> dict[str, Any]:
        if status == 400:
            raise OrderRejected(f"{path}: HTTP 400, the Gateway refused the request body")
        if status != 200 or not isinstance(reply, dict) or "success" not in reply:
            what = f"HTTP {status}" if status != 200 else "a reply without the success envelope"
            if action:
                raise OutcomeUnknown(f"{path}: {what}; the broker may have acted")
            raise BrokerUnavailable(f"{path}: {what}")
        if not reply["success"] and not action:
            code = reply.get("errorCode")
            raise OrderRejected(f"{path}: errorCode {code}: {reply.get('errorMessage')}")
        return reply

    def _expires_soon(self) -> bool:
        return self._expires_at is not None and self._wall() >= self._expires_at - self._margin

    def _token_is_stale(self) -> bool:
        return self._expires_at is not None and self._expires_at <= self._wall() + 1

    async def _login(self) -> None:
        body = {
            "userName": self._credentials.username,
            "apiKey": self._credentials.api_key.get_secret_value(),
        }
        status, reply = await self._post("/api/Auth/loginKey", body, None, False, True)
        if status != 200 or not isinstance(reply, dict):
            raise BrokerUnavailable(f"login: HTTP {status}")
        token = reply.get("token")
        if not reply.get("success") or not isinstance(token, str) or not token:
            code = reply.get("errorCode")
            raise BrokerAuthFailed(login_error(code, reply.get("errorMessage")))
        self._adopt(token)

    async def _renew(self) -> None:
        assert self._token is not None
        status, reply = await self._post("/api/Auth/validate", None, self._token, False, True)
        token = reply.get("newToken") if isinstance(reply, dict) else None
        if status == 200 and isinstance(reply, dict) and reply.get("success") and token:
            self._adopt(token)
        else:
            await self._login()  # session gone or token expired: a fresh login is the remedy

    def _adopt(self, token: str) -> None:
        self._token = token
        # Without a readable exp claim, assume the documented 24 h.
        now = self._wall()
        self._expires_at = token_expiry(token) or now + 24 * 3600
        self._margin = min(REFRESH_MARGIN_SECONDS, (self._expires_at - now) * REFRESH_FRACTION)
