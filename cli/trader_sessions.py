"""risk-trader clock-in, clock-out and sessions: the trader's own record of trading time."""

from __future__ import annotations

from pathlib import Path

from cli import display
from cli.client import Client, HomeOption, UrlOption
from cli.output import JsonOption, console, emit_json, table


def _clock(action: str, url: str | None, home: Path | None, as_json: bool) -> None:
    with Client(url, home=home) as client:
        data = client.post(f"/trader/{action}")
        tz = display.trading_zone(client)
    if as_json:
        emit_json(data)
        return
    started = display.clock_time(data.get("started_at"), tz)
    week = f"This week ({data.get('week')}): {data.get('week_total')} clocked."
    if action == "clock-in":
        text = f"Clocked in at {started} (session {data.get('session_id')}). {week}"
    else:
        ended = display.clock_time(data.get("ended_at"), tz)
        text = (
            f"Clocked out at {ended} after {data.get('duration')} "
            f"(session {data.get('session_id')}, since {started}). {week}"
        )
    console.print(f"[green]✓[/] {text}", highlight=False)


def clock_in(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Start a trading session (recorded by the daemon)."""
    _clock("clock-in", url, home, as_json)


def clock_out(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """End the current trading session."""
    _clock("clock-out", url, home, as_json)


def sessions(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """This week's clock-in sessions, the open one and the week's total."""
    with Client(url, home=home) as client:
        data = client.get("/trader/sessions")
        tz = display.trading_zone(client)
    if as_json:
        emit_json(data)
        return
    rows = [
        [
            s.get("session_id"),
            display.stamp(s.get("started_at"), tz),
            "open" if s.get("open") else display.stamp(s.get("ended_at"), tz),
            s.get("duration"),
        ]
        for s in data.get("sessions", [])
    ]
    if rows:
        console.print(table("Sessions this week", ("Session", "Started", "Ended", "Length"), rows))
    current = data.get("current")
    since = "" if not current else display.clock_time(current.get("started_at"), tz)
    state = f"clocked in since {since}" if current else "not clocked in"
    console.print(
        f"Week {data.get('week')}: {data.get('week_total')} clocked; now {state}.",
        highlight=False,
    )
