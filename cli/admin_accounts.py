"""risk-admin accounts: the configured accounts (from the daemon) and `accounts test`."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from cli import display
from cli.client import Client, HomeOption, UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import JsonOption, console, emit_json, table, yes_no
from risk_manager.brokers.base import BrokerAuthFailed, BrokerError
from risk_manager.config import ConfigError, load_config
from risk_manager.paths import HomePaths, default_home

accounts_app = typer.Typer(
    help="Configured accounts; `accounts test` checks the broker login.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@accounts_app.callback(epilog=EXIT_CODES_HELP)
def accounts(
    ctx: typer.Context, url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """Configured accounts with profile, balance, trading state and connection."""
    if ctx.invoked_subcommand is not None:
        return
    with Client(url, home=home) as client:
        data = client.get("/accounts")
        locks = {a["account_id"]: client.get(f"/accounts/{a['account_id']}/lockouts") for a in data}
    if as_json:
        emit_json(data)
        return
    rows = []
    for a in data:
        state, symbols = display.trading_states(a, locks[a["account_id"]].get("lockouts", []))
        rows.append(
            [
                a["account_id"],
                a.get("name"),
                a.get("profile"),
                display.money(a.get("balance")),
                display.state_text(state, symbols),
                yes_no(bool(a.get("connected"))),
            ]
        )
    columns = ("Account", "Name", "Profile", "Balance", "Trading", "Connected")
    console.print(table("Accounts", columns, rows))


@accounts_app.command("test", epilog=EXIT_CODES_HELP)
def check_login(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Log in to the configured broker, list its accounts and time the round trips.

    Runs from this machine with the daemon's config and secrets (the daemon need not run).
    """
    paths = HomePaths(home or default_home())
    try:
        # No account yet is fine here: listing the broker's accounts is how one finds them.
        config = load_config(paths.config_file, allow_empty=True)
    except ConfigError as error:
        raise CliError(f"invalid configuration: {'; '.join(error.problems)}",
                       ExitCode.INVALID_CONFIG) from None  # fmt: skip
    broker: Any = config.broker
    if broker.kind != "projectx":
        raise CliError(f"the configured broker is {broker.kind!r}: there is no login to test",
                       ExitCode.USAGE)  # fmt: skip
    from risk_manager.brokers.projectx.check import check_gateway

    configured = [(account_id, a.name or account_id) for account_id, a in config.accounts.items()]
    try:
        result = asyncio.run(check_gateway(broker.projectx, paths.secrets_dir, configured))
    except BrokerAuthFailed as error:
        raise CliError(f"ProjectX {error}", ExitCode.FAILED) from None
    except BrokerError as error:
        raise CliError(f"cannot use the Gateway at {broker.projectx.api_url}: {error}") from None
    data = {
        "accounts": [{"id": a.account_id, "name": a.name, "balance": str(a.balance),
                      "can_trade": a.can_trade} for a in result.accounts],
        "missing": result.missing, "ping_ms": round(result.ping_ms, 1),
        "login_ms": round(result.login_ms, 1),
        "hub_ms": None if result.hub_ms is None else round(result.hub_ms, 1),
    }  # fmt: skip
    if as_json:
        emit_json(data)
    else:
        rows = [[a.account_id, a.name, f"${a.balance:,.2f}", yes_no(a.can_trade)]
                for a in result.accounts]  # fmt: skip
        console.print(table("Gateway accounts", ("Id", "Name", "Balance $", "Can trade"), rows))
        hub = "did not connect" if result.hub_ms is None else f"{result.hub_ms:.0f} ms"
        console.print(f"Round trips: ping {result.ping_ms:.0f} ms, login {result.login_ms:.0f} ms,"
                      f" user hub {hub}")  # fmt: skip
    if result.missing:
        raise CliError(f"configured account(s) not found at the Gateway: "
                       f"{', '.join(result.missing)}", ExitCode.NOT_FOUND)  # fmt: skip
    if result.hub_ms is None:
        raise CliError("logged in, but the user hub did not connect (check user_hub_url)")
