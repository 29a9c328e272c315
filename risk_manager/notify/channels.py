"""One configured destination: its secret, how a notice becomes an HTTP request, one attempt.

Secrets are read from the home's secrets/ folder at start; every text that leaves this
module (errors for logs, /health, `notify test`) passes through `redact`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from risk_manager.notify.notice import Notice
from risk_manager.notify.render import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    discord_payload,
    signature,
    telegram_payload,
    webhook_body,
)
from risk_manager.notify.settings import ChannelConfig

_ERROR_TEXT = 300  # characters of a receiver's error body worth showing


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt got back."""

    ok: bool
    status: int | None  # HTTP status; None when no response arrived
    latency_ms: float
    error: str | None = None  # redacted
    retry_after: float | None = None  # seconds the receiver asked us to wait (429)

    @property
    def retryable(self) -> bool:
        """Client errors other than 408/429 will not heal by themselves."""
        return self.status is None or self.status in (408, 429) or self.status >= 500

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "latency_ms": round(self.latency_ms, 1),
                "error": self.error}  # fmt: skip


def _read_secret(folder: Path, name: str) -> str:
    try:
        value = (folder / name).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"cannot read secrets/{name}: {error.strerror}") from None
    if not value:
        raise ValueError(f"secrets/{name} is empty")
    return value


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a 429: Discord/Telegram JSON bodies, else the Retry-After header."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        value = body.get("retry_after")
        if value is None and isinstance(body.get("parameters"), dict):
            value = body["parameters"].get("retry_after")  # Telegram
        if isinstance(value, int | float) and value >= 0:
            return float(value)
    header = response.headers.get("retry-after")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Channel:
    """A destination with its secret loaded (or the reason it could not be)."""

    def __init__(self, name: str, config: ChannelConfig, secrets_dir: Path) -> None:
        self.name = name
        self.config = config
        self.problem: str | None = None
        self._secret = ""
        self._signing_key: bytes | None = None
        try:
            self._secret = _read_secret(secrets_dir, config.secret)
            if config.signing_secret is not None:
                self._signing_key = _read_secret(secrets_dir, config.signing_secret).encode()
        except ValueError as error:
            self.problem = str(error)

    def redact(self, text: str) -> str:
        """`text` with the channel's secrets replaced."""
        for secret in (self._secret, self._signing_key.decode() if self._signing_key else ""):
            if secret:
                text = text.replace(secret, "[secret]")
        return text

    def _request(self, notice: Notice) -> tuple[str, bytes, dict[str, str]]:
        kind = self.config.kind
        if kind == "discord":
            url, payload = self._secret, discord_payload(notice)
        elif kind == "telegram":
            assert self.config.chat_id is not None
            api = self.config.telegram_api.rstrip("/")
            url = f"{api}/bot{self._secret}/sendMessage"
            payload = telegram_payload(notice, self.config.chat_id)
        else:
            url, payload = self._secret, webhook_body(notice)
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self._signing_key is not None:
            stamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = stamp
            headers[SIGNATURE_HEADER] = signature(self._signing_key, stamp, body)
        return url, body, headers

    async def send(self, client: httpx.AsyncClient, notice: Notice) -> Attempt:
        """One attempt; never raises."""
        if self.problem is not None:
            return Attempt(False, None, 0.0, self.problem)
        url, body, headers = self._request(notice)
        started = time.perf_counter()
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            elapsed = (time.perf_counter() - started) * 1e3
            text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            return Attempt(False, None, elapsed, self.redact(text))
        elapsed = (time.perf_counter() - started) * 1e3
        if response.is_success:
            return Attempt(True, response.status_code, elapsed)
        text = self.redact(response.text[:_ERROR_TEXT]) or response.reason_phrase
        wait = retry_after(response) if response.status_code == 429 else None
        return Attempt(False, response.status_code, elapsed, text, wait)
