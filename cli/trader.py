"""risk-trader: what the trader may see and do — status, PnL, lockouts, log, clock-in/out, and a
personal lockout."""

from __future__ import annotations

import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.syntax import Syntax
from rich.text import Text

from cli import display, trader_doctor, trader_lock, trader_sessions, watch
from cli.client import Client, HomeOption, UrlOption
from cli.exit_codes import EXIT_CODES_HELP
from cli.output import JsonOption, console, emit_json, emit_text, run, table
from risk_manager.config.toml_writer import to_toml

app = typer.Typer(
    name="risk-trader",
    help="Trader view of the risk manager daemon: status, PnL, lockouts, rules and a live "
    "dashboard. Talks to the daemon over HTTP only.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
)
AccountArg = Annotated[
    str | None,
    typer.Argument(
        metavar="ACCOUNT", help="Account id (default: every account).", show_default=False
    ),
]
LOCKOUT_COLUMNS = ("Account", "Id", "Rule", "Scope", "Effect", "Reason", "Ends", "Time left")
STATE_LEGEND = (
    "ACTIVE: trading allowed · REDUCING: only orders that reduce a position · "
    "HALTED: no trading (new positions are closed at once)"
)


def account_ids(client: Client, account: str | None) -> list[str]:
    """The one account asked for, else every configured account."""
    if account:
        return [account]
    return [row["account_id"] for row in client.get("/accounts")]


def lockout_rows(
    lockouts: list[dict[str, Any]], tz: ZoneInfo, elapsed: float = 0.0
) -> list[list[Any]]:
    """Table rows for lockouts; `elapsed` seconds since they were fetched tick the countdown."""
    return [
        [
            item.get("account_id"),
            item.get("id"),
            item.get("rule"),
            item.get("symbol") or "account",
            display.state_text(str(item.get("state") or "HALTED").upper()),
            item.get("reason"),
            display.lockout_end(item, tz),
            Text(display.lockout_time_left(item, elapsed) or "—", style="bold yellow"),
        ]
        for item in lockouts
    ]


@app.command(epilog=EXIT_CODES_HELP)
def status(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Daemon health and per account: trading state (per symbol root too), positions, PnL."""
    with Client(url, home=home) as client:
        health = client.get("/health")
        summary = client.get("/status")
        locks = {
            a["account_id"]: client.get(f"/accounts/{a['account_id']}/lockouts")["lockouts"]
            for a in summary.get("accounts", [])
        }
    if as_json:
        emit_json({"health": health, "status": summary, "lockouts": locks})
        return
    tz = display.zone(summary.get("timezone"))
    state = health.get("status", "?")
    colour = "green" if state == "healthy" else "yellow"
    broker = "connected" if summary.get("connected") else "[bold red]DISCONNECTED[/]"
    resets = display.clock_time(summary.get("next_reset"), tz)
    console.print(
        f"Daemon [{colour}]{state}[/] · v{summary.get('version')} · PID {summary.get('pid')} · "
        f"broker {summary.get('broker')} {broker} · trading day {summary.get('trading_day')} "
        f"(resets {resets})",
        highlight=False,
    )
    rows, notes = [], []
    for a in summary.get("accounts", []):
        account_state, symbols = display.trading_states(a, locks.get(a["account_id"], []))
        rows.append(
            [
                a["account_id"],
                a.get("name"),
                display.state_text(account_state, symbols),
                a.get("positions"),
                display.money(a.get("realized")),
                display.money(a.get("unrealized")),
                display.money(a.get("total")),
            ]
        )
        for lk in locks.get(a["account_id"], []):
            left = display.lockout_time_left(lk)
            scope = lk.get("symbol") or "account"
            notes.append(
                f"  {a['account_id']} {scope}: {lk.get('rule')} — {lk.get('reason')}; "
                f"{display.lockout_end(lk, tz)}" + (f" ({left} left)" if left else "")
            )
    columns = ("Account", "Name", "Trading", "Positions", "Realized", "Unrealized", "Total")
    console.print(table(None, columns, rows))
    for line in notes:
        console.print(Text(line), highlight=False)
    if notes:
        console.print(Text(STATE_LEGEND, style="dim"))


@app.command(epilog=EXIT_CODES_HELP)
def positions(
    account: AccountArg = None,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open positions and working orders."""
    with Client(url, home=home) as client:
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
            display.price(p["avg_price"]),
            display.price(p["last_price"]),
            display.money(p["unrealized_pnl"]),
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
            display.price(o.get("limit_price") or o.get("stop_price")),
            o["status"],
        ]
        for d in data
        for o in d.get("orders", [])
    ]
    if orders:
        columns = ("Account", "Order", "Symbol", "Side", "Type", "Qty", "Price", "Status")
        console.print(table("Working orders", columns, orders))


@app.command(epilog=EXIT_CODES_HELP)
def pnl(
    account: AccountArg = None,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Today's gross PnL, fees, realized (net of fees), unrealized and total PnL."""
    with Client(url, home=home) as client:
        data = [client.get(f"/accounts/{a}/pnl") for a in account_ids(client, account)]
    if as_json:
        emit_json(data[0] if account else data)
        return
    rows = [
        [
            d["account_id"],
            d.get("fills"),
            display.money(d.get("realized_gross")),
            display.fees(d.get("fees")),
            display.money(d.get("realized")),
            display.money(d.get("unrealized")),
            display.money(d.get("total")),
        ]
        for d in data
    ]
    columns = ("Account", "Fills", "Gross", "Fees", "Realized", "Unrealized", "Total")
    days = sorted({str(d.get("trading_day")) for d in data})
    grid = table(f"PnL of trading day {', '.join(days)}", columns, rows)
    grid.caption, grid.caption_justify = display.FEES_NOTE, "left"
    console.print(grid)


@app.command(epilog=EXIT_CODES_HELP)
def lockouts(
    account: AccountArg = None,
    watch_: Annotated[
        bool, typer.Option("--watch", "-w", help="Keep the countdown ticking (Ctrl+C to quit).")
    ] = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Active lockouts: how each one ends, when (trading-day zone), and the time left."""
    with Client(url, home=home) as client:
        ids = account_ids(client, account)

        def fetch() -> list[dict[str, Any]]:
            return [client.get(f"/accounts/{a}/lockouts") for a in ids]

        data = fetch()
        if as_json:
            emit_json(data[0] if account else data)
            return
        tz = display.trading_zone(client)
        if not watch_:
            console.print(_lockouts_view(data, tz, 0.0))
            return
        fetched = time.monotonic()
        # Refetch every 5 s (lockouts end or start); tick the countdown locally in between.
        with Live(_lockouts_view(data, tz, 0.0), console=console, auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(1.0)
                    if time.monotonic() - fetched >= 5.0:
                        data, fetched = fetch(), time.monotonic()
                    live.update(_lockouts_view(data, tz, time.monotonic() - fetched), refresh=True)
            except KeyboardInterrupt:
                pass


def _lockouts_view(data: list[dict[str, Any]], tz: ZoneInfo, elapsed: float) -> RenderableType:
    rows = [row for d in data for row in lockout_rows(d.get("lockouts", []), tz, elapsed)]
    if not rows:
        return Group(Text("No active lockouts: trading allowed.", style="green"))
    return Group(table("Lockouts", LOCKOUT_COLUMNS, rows))


@app.command("log", epilog=EXIT_CODES_HELP)
def log_(
    account: AccountArg = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", "-n", min=1, max=500, metavar="N", help="Records to show (all accounts)."
        ),
    ] = 20,
    before: Annotated[
        int | None,
        typer.Option(
            "--before", min=1, metavar="ID", help="Older page: only records with ids below ID."
        ),
    ] = None,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The enforcement log (what the daemon did and why), newest first, N records a page."""
    with Client(url, home=home) as client:
        path = f"/accounts/{account}/enforcement" if account else "/enforcement"
        data = client.get(path, limit=limit, before=before)
        tz = display.trading_zone(client) if not as_json else None
    if as_json or tz is None:
        emit_json(data)
        return
    rows = [
        [
            r["id"],
            display.stamp(r.get("created_at"), tz),
            r["account_id"],
            ", ".join(r.get("rules") or [r.get("rule")]),
            r.get("reason"),
            r.get("status"),
            r.get("outcome"),
        ]
        for r in data["records"]
    ]
    if not rows:
        console.print("No enforcement actions." if before is None else "No older records.")
        return
    columns = ("Id", "Time", "Account", "Rules", "Reason", "Status", "Outcome")
    console.print(table("Enforcement log (newest first)", columns, rows))
    if data.get("next_before") is not None:
        command = f"risk-trader log{f' {account}' if account else ''} --limit {limit}"
        console.print(f"Older: {command} --before {data['next_before']}", highlight=False)


def _toml_ready(value: Any) -> Any:
    """The API's JSON (decimals as strings) back to the numbers the config file holds."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    if isinstance(value, list):
        return [_toml_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items() if v is not None}
    return value


def rules_text(profile: str, rules: dict[str, Any]) -> str:
    """One profile's rules as the config file writes them: [profiles.NAME.RULE] tables."""
    tables = {
        name: {k: v for k, v in params.items() if k != "enabled"} for name, params in rules.items()
    }
    if not tables:
        return "# no rules\n"
    return to_toml(_toml_ready({"profiles": {profile: tables}}))


@app.command(epilog=EXIT_CODES_HELP)
def rules(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """The rules in force for each account (the daemon's effective configuration)."""
    with Client(url, home=home) as client:
        data = client.get("/rules")
    if as_json:
        emit_json(data)
        return
    # One block per profile (accounts sharing it share its rules): the whole output is a
    # valid config fragment, with no table written twice.
    profiles: dict[str, list[str]] = {}
    for account_id, entry in data.items():
        profiles.setdefault(entry.get("profile") or "", []).append(account_id)
    for profile, accounts in profiles.items():
        heading = f"# {', '.join(accounts)} (profile {profile or 'none'})\n"
        text = heading + rules_text(profile, data[accounts[0]].get("rules", {})) + "\n"
        if console.is_terminal:
            console.print(Syntax(text, "toml", theme="ansi_dark", background_color="default"))
        else:
            emit_text(text)


app.command("clock-in", epilog=EXIT_CODES_HELP)(trader_sessions.clock_in)
app.command("clock-out", epilog=EXIT_CODES_HELP)(trader_sessions.clock_out)
app.command("sessions", epilog=EXIT_CODES_HELP)(trader_sessions.sessions)
app.command("watch", epilog=EXIT_CODES_HELP)(watch.watch)
app.command("doctor", epilog=EXIT_CODES_HELP)(trader_doctor.doctor)
app.command("lock", epilog=EXIT_CODES_HELP)(trader_lock.lock)


def main() -> None:
    """Console-script entry point."""
    run(app)


if __name__ == "__main__":
    main()
