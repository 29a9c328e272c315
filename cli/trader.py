"""risk-trader: what the trader may see and do — status, PnL, lockouts, log, clock-in/out."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from cli import watch
from cli.client import DEFAULT_URL, URL_ENV, Client, UrlOption, read_url_file
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import (
    JsonOption,
    console,
    countdown,
    emit_json,
    money,
    note,
    run,
    table,
    yes_no,
)
from risk_manager.netaddr import is_loopback_host

app = typer.Typer(
    name="risk-trader",
    help="Trader view of the risk manager daemon: status, PnL, lockouts, rules and a live "
    "dashboard. Talks to the daemon over HTTP only.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
)
AccountArg = Annotated[
    str | None, typer.Argument(help="Account id (default: every account).", show_default=False)
]


def account_ids(client: Client, account: str | None) -> list[str]:
    """The one account asked for, else every configured account."""
    if account:
        return [account]
    return [row["account_id"] for row in client.get("/accounts")]


def lockout_rows(lockouts: list[dict[str, Any]], elapsed: float = 0.0) -> list[list[Any]]:
    """Table rows for lockouts; `elapsed` seconds since they were fetched tick the countdown."""
    rows = []
    for item in lockouts:
        left = item.get("seconds_remaining")
        remaining = None if left is None else float(left) - elapsed
        scope = item.get("symbol") or "account"
        rows.append(
            [
                item.get("account_id"),
                item.get("id"),
                item.get("rule"),
                scope,
                item.get("reason"),
                Text(countdown(remaining), style="bold yellow"),
            ]
        )
    return rows


LOCKOUT_COLUMNS = ("Account", "Id", "Rule", "Scope", "Reason", "Time left")


@app.command(epilog=EXIT_CODES_HELP)
def status(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Daemon health and a one-line summary per account (PnL, positions, lockout)."""
    with Client(url) as client:
        health = client.get("/health")
        summary = client.get("/status")
    if as_json:
        emit_json({"health": health, "status": summary})
        return
    state = health.get("status", "?")
    colour = "green" if state == "healthy" else "yellow"
    broker = "connected" if summary.get("connected") else "[red]disconnected[/]"
    console.print(
        f"Daemon [{colour}]{state}[/] · v{summary.get('version')} · PID {summary.get('pid')} · "
        f"broker {summary.get('broker')} {broker} · trading day {summary.get('trading_day')}"
    )
    rows = [
        [
            a["account_id"],
            a.get("name"),
            yes_no(bool(a.get("can_trade"))),
            a.get("positions"),
            money(a.get("realized")),
            money(a.get("unrealized")),
            money(a.get("total")),
            Text("LOCKED", style="bold red") if a.get("lockout") else "—",
        ]
        for a in summary.get("accounts", [])
    ]
    columns = (
        "Account",
        "Name",
        "Can trade",
        "Positions",
        "Realized PnL",
        "Unrealized PnL",
        "Total PnL",
        "Lockout",
    )
    console.print(table(None, columns, rows))


@app.command(epilog=EXIT_CODES_HELP)
def positions(
    account: AccountArg = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Open positions and working orders."""
    with Client(url) as client:
        data = [client.get(f"/accounts/{a}/positions") for a in account_ids(client, account)]
    if as_json:
        emit_json(data[0] if account else data)
        return
    rows = [
        [
            d["account_id"],
            p["symbol"],
            p["side"],
            p["quantity"],
            p["avg_price"],
            p["last_price"],
            money(p["unrealized_pnl"]),
        ]
        for d in data
        for p in d["positions"]
    ]
    columns: tuple[str, ...] = (
        "Account", "Symbol", "Side", "Qty", "Avg price", "Last price", "Unrealized PnL"
    )  # fmt: skip
    console.print(table("Positions", columns, rows) if rows else "No open positions.")
    orders = [
        [
            d["account_id"],
            o["order_id"],
            o["symbol"],
            o["side"],
            o["type"],
            o["quantity"],
            o.get("limit_price") or o.get("stop_price"),
            o["status"],
        ]
        for d in data
        for o in d.get("orders", [])
    ]
    if orders:
        columns = ("Account", "Order", "Symbol", "Side", "Type", "Qty", "Price", "Status")
        console.print(table("Working orders", columns, orders))


@app.command(epilog=EXIT_CODES_HELP)
def pnl(account: AccountArg = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Today's realized (net of fees), unrealized and total PnL."""
    with Client(url) as client:
        data = [client.get(f"/accounts/{a}/pnl") for a in account_ids(client, account)]
    if as_json:
        emit_json(data[0] if account else data)
        return
    rows = [
        [
            d["account_id"],
            d.get("trading_day"),
            d.get("fills"),
            money(d.get("realized_gross")),
            money(-abs(float(d.get("fees") or 0))),
            money(d.get("realized")),
            money(d.get("unrealized")),
            money(d.get("total")),
        ]
        for d in data
    ]
    columns = (
        "Account",
        "Day",
        "Fills",
        "Gross PnL",
        "Fees",
        "Realized PnL",
        "Unrealized PnL",
        "Total PnL",
    )
    console.print(table("PnL today", columns, rows))


@app.command(epilog=EXIT_CODES_HELP)
def lockouts(
    account: AccountArg = None,
    watch_: Annotated[
        bool, typer.Option("--watch", "-w", help="Keep the countdown ticking (Ctrl+C to quit).")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Active lockouts with the time left until trading is allowed again."""
    with Client(url) as client:
        ids = account_ids(client, account)

        def fetch() -> list[dict[str, Any]]:
            return [client.get(f"/accounts/{a}/lockouts") for a in ids]

        data = fetch()
        if as_json:
            emit_json(data[0] if account else data)
            return
        if not watch_:
            console.print(_lockouts_view(data, 0.0))
            return
        fetched = time.monotonic()
        # Refetch every 5 s (lockouts end or start); tick the countdown locally in between.
        with Live(_lockouts_view(data, 0.0), console=console, auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(1.0)
                    if time.monotonic() - fetched >= 5.0:
                        data, fetched = fetch(), time.monotonic()
                    live.update(_lockouts_view(data, time.monotonic() - fetched), refresh=True)
            except KeyboardInterrupt:
                pass


def _lockouts_view(data: list[dict[str, Any]], elapsed: float) -> Group | str:
    rows = [row for d in data for row in lockout_rows(d.get("lockouts", []), elapsed)]
    if not rows:
        return Group(Text("No active lockouts: trading allowed.", style="green"))
    return Group(table("Lockouts", LOCKOUT_COLUMNS, rows))


@app.command("log", epilog=EXIT_CODES_HELP)
def log_(
    account: AccountArg = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=500, help="Rows per account.")
    ] = 20,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="Page back: only ids below this.")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The enforcement log (what the daemon did and why), newest first."""
    with Client(url) as client:
        data = [
            client.get(f"/accounts/{a}/enforcement", limit=limit, before=before)
            for a in account_ids(client, account)
        ]
    if as_json:
        emit_json(data[0] if account else data)
        return
    rows = [
        [
            r["id"],
            (r.get("created_at") or "")[:19].replace("T", " "),
            r["account_id"],
            ", ".join(r.get("rules") or [r.get("rule")]),
            r.get("reason"),
            r.get("status"),
            r.get("outcome"),
        ]
        for d in data
        for r in d["records"]
    ]
    if not rows:
        console.print("No enforcement actions.")
        return
    columns = ("Id", "Time", "Account", "Rules", "Reason", "Status", "Outcome")
    console.print(table("Enforcement log", columns, rows))


def rule_text(params: dict[str, Any]) -> str:
    """Rule parameters as compact `key=value` pairs (the `enabled` flag is implied)."""
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "enabled")


@app.command(epilog=EXIT_CODES_HELP)
def rules(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The rules in force for each account (the daemon's effective configuration)."""
    with Client(url) as client:
        data = client.get("/rules")
    if as_json:
        emit_json(data)
        return
    rows = [
        [account_id, entry.get("profile"), name, rule_text(params)]
        for account_id, entry in data.items()
        for name, params in entry.get("rules", {}).items()
    ]
    console.print(table("Rules", ("Account", "Profile", "Rule", "Parameters"), rows))


def _clock(action: str, url: str | None, as_json: bool) -> None:
    with Client(url) as client:
        data = client.post(f"/trader/{action}")
    if as_json:
        emit_json(data)
        return
    label = "Clocked in" if action == "clock-in" else "Clocked out"
    extra = ""
    if isinstance(data, dict):
        extra = " ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
    console.print(f"[green]{label}[/] {extra}".rstrip())


@app.command("clock-in", epilog=EXIT_CODES_HELP)
def clock_in(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Start a trading session (recorded by the daemon)."""
    _clock("clock-in", url, as_json)


@app.command("clock-out", epilog=EXIT_CODES_HELP)
def clock_out(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """End the current trading session."""
    _clock("clock-out", url, as_json)


app.command("watch", epilog=EXIT_CODES_HELP)(watch.watch)


WSL_HINT = (
    "WSL2 cannot reach a daemon on the Windows loopback in NAT mode. Add to "
    "%UserProfile%\\.wslconfig:\n[wsl2]\nnetworkingMode=mirrored\nthen run `wsl --shutdown` "
    "from Windows and reopen this shell, or pass --url."
)


def is_wsl() -> bool:
    """Whether this runs inside Windows Subsystem for Linux."""
    try:
        return "microsoft" in Path("/proc/version").read_text(encoding="utf-8").lower()
    except OSError:
        return False


def is_loopback(url: str) -> bool:
    """Whether the URL's host is a loopback address (the daemon refuses anything else)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def _candidates(url: str | None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    env = os.environ.get(URL_ENV)
    sources = (
        ("RISK_MANAGER_URL" if url and url == env else "--url", url),
        ("RISK_MANAGER_URL", env),
        ("state/daemon.url", read_url_file(None)),
        ("default", DEFAULT_URL),
    )
    for source, value in sources:
        if value and value.rstrip("/") not in {u for _, u in found}:
            found.append((source, value.rstrip("/")))
    return found


def _probe(url: str) -> dict[str, Any] | None:
    try:
        with Client(url, timeout=3.0) as client:
            return client.get("/health")
    except CliError:
        return None


@app.command("doctor", epilog=EXIT_CODES_HELP)
def doctor(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Find the daemon: try --url, $RISK_MANAGER_URL, the daemon.url file and the default."""
    checks = []
    for source, candidate in _candidates(url):
        health = _probe(candidate)
        checks.append(
            {
                "source": source,
                "url": candidate,
                "loopback": is_loopback(candidate),
                "reachable": health is not None,
                "status": None if health is None else health.get("status"),
            }
        )
    found = next((c["url"] for c in checks if c["reachable"]), None)
    wsl = is_wsl()
    if as_json:
        emit_json({"found": found, "wsl": wsl, "candidates": checks})
    else:
        for check in checks:
            mark = "[green]✓[/]" if check["reachable"] else "[red]✗[/]"
            state = check["status"] or "no answer"
            local = "" if check["loopback"] else " [yellow](not loopback: the daemon refuses it)[/]"
            console.print(f"{mark} {check['url']} ({check['source']}): {state}{local}")
        console.print(f"{'[yellow]![/]' if wsl else '[green]✓[/]'} WSL: {'yes' if wsl else 'no'}")
        if found:
            console.print(f"[green]Daemon found at {found}[/]")
    if found is None:
        if wsl:
            note(WSL_HINT)
        raise CliError("daemon not reachable at any candidate URL", ExitCode.NOT_RUNNING)


def main() -> None:
    """Console-script entry point."""
    run(app)


if __name__ == "__main__":
    main()
