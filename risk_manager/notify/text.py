"""Text for a phone: dollars like the CLIs print them, times in the trading-day zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.domain.money import shown_cents
from risk_manager.domain.money import usd as format_usd


def usd(value: Any) -> str:
    """`-$1,234.50` (the one money format, see domain.money.usd); text
    that is not a number passes through."""
    amount = shown_cents(value)
    return str(value) if amount is None else format_usd(amount)


def local_time(when: datetime, zone: ZoneInfo, now: datetime) -> str:
    """`17:00 CST`, with the date when it is not today in that zone."""
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M %Z")
    return local.strftime("%a %d %b %H:%M %Z")


def humanize(kind: str) -> str:
    """`api_bind_failed` → `Api bind failed`."""
    return kind.replace("_", " ").strip().capitalize()


# Telegram MarkdownV2: every one of these must be escaped with a backslash outside entities.
_MARKDOWN_V2_SPECIAL = frozenset("_*[]()~`>#+-=|{}.!\\")


def escape_markdown_v2(text: str) -> str:
    """Escape text so Telegram shows it literally under parse_mode=MarkdownV2."""
    return "".join("\\" + ch if ch in _MARKDOWN_V2_SPECIAL else ch for ch in text)
