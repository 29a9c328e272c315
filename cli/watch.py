"""risk-trader watch: a full-screen dashboard fed by the daemon's event stream.

A background thread reads the SSE stream and only updates the in-memory `Model`; a second
thread resyncs over REST when an event says the picture changed (a fill, a quote that moved a
position's PnL, a lockout, a reset), never more often than every RESYNC_MIN_SECONDS. The main
thread just renders the model. Every reconnect finds the daemon afresh (--url, else the home's
state/daemon.url), so a daemon restarted on another port is followed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli import display
from cli.client import Client, HomeOption, UrlOption
from cli.display import money
from cli.exit_codes import CliError
from cli.output import JsonOption, console, emit_json, table

RESYNC_MIN_SECONDS = 1.0
RESYNC_IDLE_SECONDS = 15.0
RECONNECT_SECONDS = 1.0
# (rule, parameter, kind, PnL figure) for the limits a trader watches get closer.
LIMITS = (
    ("daily_realized_loss", "limit", "loss", "realized"),
    ("daily_unrealized_loss", "limit", "loss", "unrealized"),
    ("daily_realized_profit", "target", "profit", "realized"),
    ("max_unrealized_profit", "target", "profit", "unrealized"),
)
# A "pnl" event follows every quote that moves an open position: the positions table is
# refreshed with it, so the header's PnL and the table agree.
RESYNC_EVENTS = frozenset(
    {"hello", "fill", "pnl", "violation", "lockout", "lockout_ended", "day_reset"}
)


class Model:
    """What the dashboard shows; every mutation holds the lock, render copies under it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: dict[str, Any] = {}
        self.rules: dict[str, Any] = {}
        self.pnl: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, list[dict[str, Any]]] = {}
        self.lockouts: dict[str, list[dict[str, Any]]] = {}
        self.actions: deque[tuple[str, str, str]] = deque(maxlen=8)
        self.connected: bool | None = None
        self.stream = "connecting"
        self.daemon_url = ""
        self.link_problem: str | None = None  # why the daemon cannot be reached, in full
        self.synced_at = 0.0
        self.resync = threading.Event()

    def lost(self, problem: str) -> None:
        """The daemon stopped answering: say so at once; the broker state is unknown."""
        with self.lock:
            self.link_problem = problem
            self.connected = None
            self.stream = "disconnected"

    def reached(self, url: str) -> None:
        """The stream is live again (maybe at a new URL)."""
        with self.lock:
            self.link_problem = None
            self.daemon_url = url
            self.stream = "live"

    def load(self, client: Client) -> None:
        """Replace the picture with a fresh REST snapshot."""
        status = client.get("/status")
        rules = client.get("/rules")
        per_account = {}
        for account in status.get("accounts", []):
            account_id = account["account_id"]
            per_account[account_id] = (
                client.get(f"/accounts/{account_id}/positions"),
                client.get(f"/accounts/{account_id}/lockouts"),
                client.get(f"/accounts/{account_id}/enforcement", limit=5),
            )
        fetched = time.monotonic()
        with self.lock:
            self.daemon_url = client.url
            self.status, self.rules, self.synced_at = status, rules, fetched
            self.connected = status.get("connected")
            records = []
            for account in status.get("accounts", []):
                account_id = account["account_id"]
                positions, lockouts, log = per_account[account_id]
                self.pnl[account_id] = account
                self.positions[account_id] = positions.get("positions", [])
                self.lockouts[account_id] = [
                    {**item, "_at": fetched} for item in lockouts.get("lockouts", [])
                ]
                records += log.get("records", [])
            records.sort(key=lambda r: r.get("created_at") or "")
            self.actions.clear()
            tz = self.zone()
            for record in records[-self.actions.maxlen :]:  # type: ignore[operator]
                stamp = display.stamp(record.get("created_at"), tz)[11:]
                text = f"{record.get('reason')} → {record.get('outcome') or record.get('status')}"
                self.actions.append((stamp, record.get("account_id", ""), text))

    def zone(self) -> Any:
        """The trading-day zone the daemon reports (times on screen are in it)."""
        return display.zone(self.status.get("timezone"))

    def apply(self, kind: str, data: Any) -> None:
        """Fold one stream event into the model; ask for a resync when REST knows more."""
        if not isinstance(data, dict):
            return
        now = time.monotonic()
        with self.lock:
            stamp = display.stamp(datetime.now().astimezone(), self.zone())[11:]
            account_id = str(data.get("account_id", ""))
            if kind == "pnl" and account_id:
                self.pnl.setdefault(account_id, {"account_id": account_id}).update(data)
            elif kind == "connection":
                self.connected = bool(data.get("connected"))
            elif kind == "lockout" and account_id:
                current = [lk for lk in self.lockouts.get(account_id, []) if lk["id"] != data["id"]]
                self.lockouts[account_id] = [*current, {**data, "_at": now}]
                self.actions.append((stamp, account_id, f"LOCKOUT {data.get('reason')}"))
            elif kind == "lockout_ended" and account_id:
                self.lockouts[account_id] = [
                    lk for lk in self.lockouts.get(account_id, []) if lk["id"] != data.get("id")
                ]
            elif kind == "violation":
                text = f"{data.get('rule')}: {data.get('reason')}"
                self.actions.append((stamp, account_id, text))
        if kind in RESYNC_EVENTS:
            self.resync.set()

    def view(self) -> dict[str, Any]:
        """A JSON-ready copy (for --json)."""
        with self.lock:
            return {
                "status": self.status,
                "rules": self.rules,
                "pnl": self.pnl,
                "positions": self.positions,
                "lockouts": {
                    a: [{k: v for k, v in lk.items() if k != "_at"} for lk in items]
                    for a, items in self.lockouts.items()
                },
                "actions": list(self.actions),
                "stream": self.stream,
                "daemon_url": self.daemon_url,
            }

    def render(self) -> RenderableType:
        """The whole screen, built from a consistent copy of the model."""
        with self.lock:
            return Group(
                self._header(),
                *(self._account_panel(a) for a in sorted(self.pnl)),
                self._positions(),
                self._lockouts(),
                self._actions(),
            )

    def _header(self) -> RenderableType:
        broker = {None: ("unknown", "yellow"), True: ("connected", "green"),
                  False: ("DISCONNECTED", "bold red")}[self.connected]  # fmt: skip
        stream_style = "green" if self.stream in ("live", "snapshot") else "bold red"
        tz = self.zone()
        text = Text.assemble(
            ("Risk Manager ", "bold"),
            (display.stamp(datetime.now().astimezone(), tz)[11:], "cyan"),
            "  daemon ",
            (self.stream, stream_style),
            f" {self.daemon_url}",
            "  broker ",
            broker,
            f"  trading day {self.status.get('trading_day', '—')}",
        )
        if self.link_problem is None:
            return text
        # The whole message, URL included: it wraps on a narrow screen, it is never cut.
        problem = Text(f"DISCONNECTED: {self.link_problem}", style="bold red", overflow="fold")
        return Group(text, problem, Text("reconnecting…", style="yellow"))

    def _account_panel(self, account_id: str) -> Panel:
        figures = self.pnl[account_id]
        grid = Table.grid(padding=(0, 2))
        grid.add_row(
            "Realized",
            money(figures.get("realized")),
            "Unrealized",
            money(figures.get("unrealized")),
            "Total",
            money(figures.get("total")),
        )
        per_position = [p.get("unrealized_pnl") or 0 for p in self.positions.get(account_id, [])]
        figures = {
            **figures,
            # Per-position rules trip on one position: watch the worst and the best of them.
            "worst_position": min(per_position, default=0),
            "best_position": max(per_position, default=0),
        }
        limits = limit_rows(self.rules.get(account_id, {}).get("rules", {}), figures)
        body: list[RenderableType] = [grid]
        if limits:
            body.append(table(None, ("Limit", "Threshold", "PnL", "Left", "Used"), limits))
        state, symbols = display.trading_states(
            self.pnl[account_id], self.lockouts.get(account_id, [])
        )
        title = Text.assemble((account_id, "bold"), "  ", display.state_text(state, symbols))
        border = {"ACTIVE": "blue", "REDUCING": "yellow"}.get(state, "red")
        return Panel(
            Group(*body),
            title=title,
            title_align="left",
            border_style=border,
            expand=console.is_terminal,  # full width on screen, snug in a file
        )

    def _positions(self) -> RenderableType:
        rows = [
            [
                a,
                p.get("symbol"),
                p.get("side"),
                p.get("quantity"),
                display.price(p.get("avg_price")),
                display.price(p.get("last_price")),
                money(p.get("unrealized_pnl")),
            ]
            for a, items in sorted(self.positions.items())
            for p in items
        ]
        if not rows:
            return Text("No open positions.", style="dim")
        columns = ("Account", "Symbol", "Side", "Qty", "Avg price", "Last price", "Unrealized PnL")
        return table("Positions", columns, rows)

    def _lockouts(self) -> RenderableType:
        now, tz = time.monotonic(), self.zone()
        rows = []
        for account_id, items in sorted(self.lockouts.items()):
            for lk in items:
                left = display.lockout_time_left(lk, now - lk["_at"])
                rows.append(
                    [
                        account_id,
                        lk.get("rule"),
                        lk.get("symbol") or "account",
                        lk.get("reason"),
                        display.lockout_end(lk, tz),
                        Text(left or "—", style="bold yellow"),
                    ]
                )
        if not rows:
            return Text("No lockouts: trading allowed.", style="green")
        columns = ("Account", "Rule", "Scope", "Reason", "Ends", "Time left")
        return table("Lockouts", columns, rows)

    def _actions(self) -> RenderableType:
        if not self.actions:
            return Text("No enforcement actions today.", style="dim")
        return table("Last enforcement actions", ("Time", "Account", "What"), list(self.actions))


def limit_rows(rules: dict[str, Any], figures: dict[str, Any]) -> list[list[Any]]:
    """Each loss/profit limit with the PnL it watches and the distance left before it trips."""
    rows = []
    for rule, param, kind, figure in LIMITS:
        params = rules.get(rule)
        if not params or params.get(param) is None:
            continue
        threshold = float(params[param])
        if params.get("include_unrealized"):
            watched = "total"
        elif rule == "max_unrealized_profit":
            watched = "best_position"
        elif rule == "daily_unrealized_loss" and params.get("scope", "position") == "position":
            watched = "worst_position"
        else:
            watched = figure
        pnl = float(figures.get(watched) or 0)
        left = threshold + pnl if kind == "loss" else threshold - pnl
        used = (-pnl if kind == "loss" else pnl) / threshold
        style = "red" if used >= 0.8 else "yellow" if used >= 0.5 else "green"
        rows.append(
            [
                f"{rule} ({kind})",
                money(threshold if kind == "profit" else -threshold),
                money(pnl),
                Text(display.money_text(max(left, 0)), style=style),
                Text(display.percent(max(used, 0.0)), style=style),
            ]
        )
    return rows


def _read_stream(model: Model, url: str | None, home: Path | None, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            # A new Client each time: it reads state/daemon.url again (the port may change).
            with Client(url, home=home) as client:
                for kind, data in client.events():
                    if kind == "hello":
                        model.reached(client.url)
                    model.apply(kind, data)
                    if stop.is_set():
                        return
                model.lost(f"the daemon at {client.url} closed the event stream (stopping?)")
        except CliError as exc:
            model.lost(exc.message)
        model.resync.set()
        stop.wait(RECONNECT_SECONDS)


def _resync(model: Model, url: str | None, home: Path | None, stop: threading.Event) -> None:
    while not stop.is_set():
        model.resync.wait(RESYNC_IDLE_SECONDS)
        # Throttle: a burst of fills or quotes costs one resync, not one each.
        stop.wait(max(0.0, model.synced_at + RESYNC_MIN_SECONDS - time.monotonic()))
        if stop.is_set():
            return
        model.resync.clear()
        try:
            with Client(url, home=home) as client:
                model.load(client)
        except CliError:
            model.synced_at = time.monotonic()  # the stream reader reports the outage


def watch(
    url: UrlOption = None,
    home: HomeOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Print one frame and exit (no full screen).")
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", min=0.1, metavar="SECONDS", help="Exit after this many seconds."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Live dashboard: trading state, PnL against each limit, positions, lockouts with their
    end time and countdown, enforcement actions."""
    model = Model()
    with Client(url, home=home) as client:
        model.load(client)  # fail fast (exit 3) when the daemon is down
    if once or as_json:
        model.stream = "snapshot"
        if as_json:
            emit_json(model.view())
        else:
            console.print(model.render())
        return
    stop = threading.Event()
    threads = [
        threading.Thread(target=_read_stream, args=(model, url, home, stop), daemon=True),
        threading.Thread(target=_resync, args=(model, url, home, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    deadline = None if duration is None else time.monotonic() + duration
    screen = console.is_terminal
    try:
        with Live(
            get_renderable=model.render,
            console=console,
            screen=screen,
            refresh_per_second=4,
            transient=False,
        ):
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        model.resync.set()
