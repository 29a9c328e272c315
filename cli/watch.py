"""risk-trader watch: a full-screen dashboard fed by the daemon's event stream.

A background thread reads the SSE stream and only updates the in-memory `Model`; a second
thread resyncs over REST when an event says the picture changed (a fill, a lockout, a reset),
never more often than every RESYNC_MIN_SECONDS. The main thread just renders the model.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.client import Client, UrlOption
from cli.exit_codes import CliError
from cli.output import JsonOption, console, countdown, emit_json, money, table

RESYNC_MIN_SECONDS = 3.0
RESYNC_IDLE_SECONDS = 15.0  # positions' marks only come over REST; refresh them now and then
RECONNECT_SECONDS = 2.0
# (rule, parameter, kind, PnL figure) for the limits a trader watches get closer.
LIMITS = (
    ("daily_realized_loss", "limit", "loss", "realized"),
    ("daily_unrealized_loss", "limit", "loss", "unrealized"),
    ("daily_realized_profit", "target", "profit", "realized"),
    ("max_unrealized_profit", "target", "profit", "unrealized"),
)
RESYNC_EVENTS = frozenset({"hello", "fill", "violation", "lockout", "lockout_ended", "day_reset"})


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
        self.synced_at = 0.0
        self.resync = threading.Event()

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
            for record in records[-self.actions.maxlen :]:  # type: ignore[operator]
                stamp = (record.get("created_at") or "")[11:19]
                text = f"{record.get('reason')} → {record.get('outcome') or record.get('status')}"
                self.actions.append((stamp, record.get("account_id", ""), text))

    def apply(self, kind: str, data: Any) -> None:
        """Fold one stream event into the model; ask for a resync when REST knows more."""
        if not isinstance(data, dict):
            return
        now = time.monotonic()
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        with self.lock:
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

    def _header(self) -> Text:
        broker = {None: ("unknown", "yellow"), True: ("connected", "green"),
                  False: ("DISCONNECTED", "bold red")}[self.connected]  # fmt: skip
        stream_style = "green" if self.stream == "live" else "yellow"
        text = Text.assemble(
            ("Risk Manager ", "bold"),
            (datetime.now().astimezone().strftime("%H:%M:%S"), "cyan"),
            "  broker ",
            broker,
            "  stream ",
            (self.stream, stream_style),
            f"  trading day {self.status.get('trading_day', '—')}",
        )
        return text

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
        locked = bool(self.lockouts.get(account_id))
        title = Text.assemble((account_id, "bold"), ("  LOCKED" if locked else "", "bold red"))
        return Panel(
            Group(*body), title=title, title_align="left", border_style="red" if locked else "blue"
        )

    def _positions(self) -> RenderableType:
        rows = [
            [
                a,
                p.get("symbol"),
                p.get("side"),
                p.get("quantity"),
                p.get("avg_price"),
                p.get("last_price"),
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
        now = time.monotonic()
        rows = []
        for account_id, items in sorted(self.lockouts.items()):
            for lk in items:
                left = lk.get("seconds_remaining")
                remaining = None if left is None else float(left) - (now - lk["_at"])
                rows.append(
                    [
                        account_id,
                        lk.get("rule"),
                        lk.get("symbol") or "account",
                        lk.get("reason"),
                        Text(countdown(remaining), style="bold yellow"),
                    ]
                )
        if not rows:
            return Text("No lockouts: trading allowed.", style="green")
        return table("Lockouts", ("Account", "Rule", "Scope", "Reason", "Time left"), rows)

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
                Text(f"${max(left, 0):,.2f}", style=style),
                Text(f"{max(used, 0):.0%}", style=style),
            ]
        )
    return rows


def _read_stream(model: Model, url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with Client(url) as client:
                for kind, data in client.events():
                    model.stream = "live"
                    model.apply(kind, data)
                    if stop.is_set():
                        return
            model.stream = "stream closed; reconnecting"
        except CliError as exc:
            model.stream = f"reconnecting ({exc.message[:40]})"
        model.resync.set()
        stop.wait(RECONNECT_SECONDS)


def _resync(model: Model, url: str, stop: threading.Event) -> None:
    with Client(url) as client:
        while not stop.is_set():
            model.resync.wait(RESYNC_IDLE_SECONDS)
            # Throttle: a burst of fills costs one resync, not one per fill.
            stop.wait(max(0.0, model.synced_at + RESYNC_MIN_SECONDS - time.monotonic()))
            if stop.is_set():
                return
            model.resync.clear()
            try:
                model.load(client)
            except CliError as exc:
                model.stream = f"resync failed ({exc.message[:40]})"
                model.synced_at = time.monotonic()


def watch(
    url: UrlOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Print one frame and exit (no full screen).")
    ] = False,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.1, help="Exit after this many seconds.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Live dashboard: PnL against each limit, positions, lockout countdowns, enforcement."""
    model = Model()
    with Client(url) as client:
        model.load(client)  # fail fast (exit 3) when the daemon is down
        base = client.url
    if once or as_json:
        model.stream = "snapshot"
        if as_json:
            emit_json(model.view())
        else:
            console.print(model.render())
        return
    stop = threading.Event()
    threads = [
        threading.Thread(target=_read_stream, args=(model, base, stop), daemon=True),
        threading.Thread(target=_resync, args=(model, base, stop), daemon=True),
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
