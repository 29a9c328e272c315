"""risk-trader lock: the trader's personal lockout (flatten, then no trading until it ends).

The daemon only ever extends a personal lockout; nothing here (or anywhere in the trader API)
can shorten or end one.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Any

import typer

from cli import display
from cli.client import Client, HomeOption, UrlOption
from cli.exit_codes import CliError, ExitCode
from cli.output import JsonOption, console, emit_json

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str) -> int:
    """Minutes in "2h", "90m", "1h30m" or a bare number of minutes."""
    text = text.strip().lower()
    if text.isdigit():
        minutes = int(text)
    else:
        match = _DURATION.match(text)
        if not text or match is None:
            raise CliError(
                f"cannot read duration {text!r}: use e.g. 2h, 90m, 1h30m", ExitCode.USAGE
            )
        minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if minutes <= 0:
        raise CliError("the duration must be positive", ExitCode.USAGE)
    return minutes


def parse_until(text: str, now: datetime) -> datetime:
    """An instant from "15:00" (today, this machine's time zone) or an ISO date-time."""
    try:
        wall = time.fromisoformat(text)
    except ValueError:
        wall = None
    if wall is not None:
        instant = datetime.combine(now.date(), wall).astimezone()
        if instant <= now:
            raise CliError(
                f"{text} has already passed today; give a date and time, e.g. "
                f"{(now + timedelta(days=1)).date()}T{text}",
                ExitCode.USAGE,
            )
        return instant
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        hint = "use HH:MM or an ISO date-time"
        raise CliError(f"cannot read time {text!r}: {hint}", ExitCode.USAGE) from None
    return instant if instant.tzinfo else instant.astimezone()


def lock(
    account: Annotated[
        str | None, typer.Argument(help="Account id (default: every account).", show_default=False)
    ] = None,
    for_: Annotated[
        str | None,
        typer.Option(
            "--for", metavar="DURATION", help="How long, e.g. 2h, 90m, 1h30m.", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Until a time today (HH:MM, this machine's zone) or an ISO date-time.",
        ),
    ] = None,
    rest_of_day: Annotated[
        bool, typer.Option("--rest-of-day", help="Until the daily reset.")
    ] = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lock yourself out: positions are flattened, orders cancelled, no trading until the end.

    A second lock can only extend the lockout; only an admin can end it early.
    """
    if sum((for_ is not None, until is not None, rest_of_day)) != 1:
        raise CliError("give exactly one of --for, --until or --rest-of-day", ExitCode.USAGE)
    body: dict[str, Any] = {"account_id": account}
    if for_ is not None:
        body["minutes"] = parse_duration(for_)
    elif until is not None:
        body["until"] = parse_until(until, datetime.now().astimezone()).isoformat()
    else:
        body["rest_of_day"] = True
    with Client(url, home=home) as client:
        data = client.post("/trader/lock", body)
        tz = display.trading_zone(client) if not as_json else None
    if as_json or tz is None:
        emit_json(data)
        return
    for item in data["locks"]:
        # The end in the trading-day zone, labelled, with the time left (as `lockouts` shows it).
        lockout = item["lockout"]
        ends = display.lockout_end(lockout, tz)
        left = display.lockout_time_left(lockout)
        unchanged = "" if item["applied"] else "already locked, unchanged: "
        console.print(
            f"[yellow]{item['account_id']}[/]: {unchanged}locked {ends}"
            + (f" ({left} left)" if left else ""),
            highlight=False,
        )
