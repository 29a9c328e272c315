"""A notice as each channel wants it: Discord embed, Telegram MarkdownV2, signed JSON."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from risk_manager.notify.notice import Notice
from risk_manager.notify.text import escape_markdown_v2

DISCORD_COLOURS = {"info": 0x3498DB, "warning": 0xF39C12, "critical": 0xE74C3C}
_TELEGRAM_MARKS = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}
# Discord: embed title ≤ 256, description ≤ 4096. Telegram: message ≤ 4096 characters after
# escaping, which at worst doubles the text, so title and body are clipped before it.
_DISCORD_TITLE, _DISCORD_TEXT = 256, 4000
_TELEGRAM_TITLE, _TELEGRAM_TEXT = 120, 1800
SIGNATURE_HEADER = "X-Risk-Manager-Signature"
TIMESTAMP_HEADER = "X-Risk-Manager-Timestamp"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def discord_payload(notice: Notice) -> dict[str, Any]:
    """One embed coloured by severity."""
    embed = {
        "title": _clip(notice.title, _DISCORD_TITLE),
        "description": _clip("\n".join(notice.lines), _DISCORD_TEXT),
        "color": DISCORD_COLOURS[notice.severity],
        "timestamp": notice.at.isoformat(),
        "footer": {"text": notice.severity.upper()},
    }
    # allowed_mentions: text from the daemon (a reason, an account name) must never ping anyone.
    return {"username": "Risk Manager", "embeds": [embed], "allowed_mentions": {"parse": []}}


def telegram_payload(notice: Notice, chat_id: str) -> dict[str, Any]:
    """sendMessage body: bold title, escaped lines."""
    title = escape_markdown_v2(_clip(notice.title, _TELEGRAM_TITLE))
    body = escape_markdown_v2(_clip("\n".join(notice.lines), _TELEGRAM_TEXT))
    text = f"{_TELEGRAM_MARKS[notice.severity]} *{title}*\n{body}"
    return {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "MarkdownV2",
        "disable_web_page_preview": True,
    }


def webhook_body(notice: Notice) -> dict[str, Any]:
    """The generic webhook's JSON document."""
    return {"source": "risk-manager", **notice.to_json(), "text": "\n".join(notice.lines)}


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (the timestamp stops replays)."""
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
