"""How both CLIs show values: money, percentages, times in the trading-day zone, lockout ends
and trading states. One formatter per kind of value, so every screen agrees."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

from risk_manager.domain.money import shown_cents, usd

DEFAULT_ZONE = "America/Chicago"
# Fees are a cost: every screen shows them as a negative amount (money paid), so that
# gross PnL + fees = realized PnL reads as plain addition.
FEES_NOTE = "Fees are shown as a negative amount (money paid); realized PnL = gross PnL + fees."
STATE_STYLES = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold red"}
_US_ZONE = re.compile(r"^([A-Z])[SD]T$")  # CST / CDT → CT, as traders write it


def money_text(value: Any) -> str:
    """$1,234.50 / -$1,234.50 (the daemon's one money format); — when unknown."""
    amount = shown_cents(value)
    return "—" if amount is None else usd(amount)


def money(value: Any) -> Text:
    """money_text coloured: losses red, gains green, zero plain."""
    amount = shown_cents(value)
    if amount is None:
        return Text("—", style="dim")
    style = "red" if amount < 0 else "green" if amount > 0 else ""
    return Text(money_text(amount), style=style)


def fees(value: Any) -> Text:
    """Fees as a cost: always shown negative (see FEES_NOTE), whatever sign the API used."""
    amount = shown_cents(value)
    return money(None if amount is None else -abs(amount))


def percent(fraction: float) -> str:
    """A whole percentage that never reads -0%."""
    whole = round(fraction * 100)
    return f"{whole + 0}%"  # + 0 turns a -0 into 0


def price(value: Any) -> str:
    """A price with thousands separators, at least two decimals (no dollar sign)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return "—" if value is None else str(value)
    exponent = number.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{number:,.{places}f}"


def zone(name: str | None) -> ZoneInfo:
    """The trading-day zone by name; the CME's Chicago when unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def trading_zone(client: Any) -> ZoneInfo:
    """The daemon's trading-day zone, from /status (a cli.client.Client)."""
    return zone(client.get("/status").get("timezone"))


def zone_label(moment: datetime) -> str:
    """The zone abbreviation; US daylight/standard pairs collapse (CST, CDT → CT)."""
    abbreviation = moment.tzname() or "UTC"
    match = _US_ZONE.match(abbreviation)
    return f"{match.group(1)}T" if match else abbreviation


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from the API (naive ones are UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def clock_time(value: Any, tz: ZoneInfo, now: datetime | None = None) -> str:
    """17:00 CT Fri — the weekday for the coming week, the date beyond it; — when unknown."""
    moment = parse_time(value) if not isinstance(value, datetime) else value
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    text = f"{local:%H:%M} {zone_label(local)} {local:%a}"
    reference = (now or datetime.now(tz)).astimezone(tz)
    if not timedelta(days=-1) < local - reference < timedelta(days=6):
        text += f" {local.day} {local:%b}"
    return text


def stamp(value: Any, tz: ZoneInfo) -> str:
    """A full timestamp for logs and lists: 2025-03-04 09:31:02 CT."""
    moment = parse_time(value) if not isinstance(value, datetime) else value
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {zone_label(local)}"


def countdown(seconds: float | None) -> str:
    """Time left as 1h 02m 03s / 4m 05s / 9s; empty when the end has no clock time."""
    if seconds is None:
        return ""
    left = max(0, int(seconds + 0.999))  # round up: "0s" only once it has really ended
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


# How each lockout end condition reads; timed ones get the end time appended.
_ENDS = {
    "time": "until {at}",
    "daily_reset": "until the daily reset, {at}",
    "next_session": "until the next session opens, {at}",
    "can_trade": "until the broker allows trading again",
    "config_change": "until the configuration stops asking for it (admin)",
    "never": "until an admin ends it",
}


def lockout_end(lockout: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> str:
    """The lockout's real end condition, with its end time in the trading-day zone."""
    at = clock_time(lockout.get("until"), tz, now)
    template = _ENDS.get(str(lockout.get("ends")), "until {at}" if at != "—" else "until ended")
    if "{at}" in template and at == "—":
        template = template.split(",")[0].replace(" {at}", " (time unknown)")
    return template.format(at=at)


def lockout_time_left(lockout: dict[str, Any], elapsed: float = 0.0) -> str:
    """The live countdown of a timed lockout; `elapsed` seconds since it was fetched."""
    left = lockout.get("seconds_remaining")
    return countdown(None if left is None else float(left) - elapsed)


def _state_name(value: Any) -> str | None:
    if isinstance(value, str) and value.upper() in STATE_STYLES:
        return value.upper()
    if isinstance(value, dict):
        return _state_name(value.get("state") or value.get("account"))
    return None


def trading_states(
    account: dict[str, Any], lockouts: Iterable[dict[str, Any]]
) -> tuple[str, dict[str, str]]:
    """The account's trading state and the states of symbol roots that differ from it.

    Reads the daemon's `trading_state` (a name, or {"state"/"account", "symbols"}) and
    `symbol_states`; a daemon that does not report them gets the state worked out from its
    lockouts and the broker's can-trade flag (which only tells ACTIVE from HALTED).
    """
    reported = account.get("trading_state")
    state = _state_name(reported)
    symbols: dict[str, str] = {}
    raw_symbols = account.get("symbol_states")
    if isinstance(reported, dict) and isinstance(reported.get("symbols"), dict):
        raw_symbols = reported["symbols"]
    if isinstance(raw_symbols, dict):
        for root, value in raw_symbols.items():
            name = _state_name(value)
            if name is not None:
                symbols[str(root)] = name
    if state is None:
        items = list(lockouts)
        halted = account.get("can_trade") is False or any(not lk.get("symbol") for lk in items)
        state = "HALTED" if halted else "ACTIVE"
        if not symbols:
            symbols = {str(lk["symbol"]): "HALTED" for lk in items if lk.get("symbol")}
    return state, {root: s for root, s in sorted(symbols.items()) if s != state}


def state_text(state: str, symbols: dict[str, str] | None = None) -> Text:
    """ACTIVE in green (REDUCING yellow, HALTED red), then each differing root: "ES HALTED"."""
    text = Text(state, style=STATE_STYLES.get(state, "bold"))
    for root, symbol_state in (symbols or {}).items():
        text.append(f" · {root} ")
        text.append(symbol_state, style=STATE_STYLES.get(symbol_state, "bold"))
    return text
