"""risk-admin: service control, the admin password, configuration and admin actions."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli import admin_credentials, admin_diagnostics, service, trader
from cli.admin_accounts import accounts_app
from cli.admin_auth import AuthError, read_new_password
from cli.admin_common import PasswordStdinOption, admin_post, report
from cli.admin_config import config_app
from cli.admin_notify import notify_app
from cli.client import HomeOption, UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import JsonOption, YesOption, confirm, run
from risk_manager.auth.passwords import check_strength, hash_password, save_secret
from risk_manager.paths import HomePaths, default_home

app = typer.Typer(
    name="risk-admin",
    help="Administer the risk manager daemon: install and control the service, set the admin "
    "password, edit and reload the configuration, unlock or flatten accounts, read the logs.",
    epilog=EXIT_CODES_HELP + " Service commands also use 7 timed out, 8 not installed, "
    "9 unhealthy, 11 not elevated, 12 nssm.exe missing, 13 Windows only.",
    no_args_is_help=True,
    add_completion=False,
)
service.register(app)
app.add_typer(config_app, name="config")
app.add_typer(notify_app, name="notify")


@app.command("set-password", epilog=EXIT_CODES_HELP)
def set_password(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Set the admin password (typed twice without echo, or $RISK_MANAGER_ADMIN_PASSWORD)."""
    try:
        password = read_new_password(prompt=sys.stdin.isatty())
    except AuthError as exc:
        raise CliError(exc.message, ExitCode.USAGE) from None
    reasons = check_strength(password)
    if reasons:
        raise CliError("password refused: " + "; ".join(reasons), ExitCode.USAGE)
    path = HomePaths(home or default_home()).admin_secret
    try:
        secret = hash_password(password)
    except ValueError as exc:
        raise CliError(f"password refused: {exc}", ExitCode.USAGE) from None
    try:
        save_secret(path, secret)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    # The daemon rereads the secret file on the next login; no restart needed.
    report({"secret_file": str(path)}, f"Admin password set ({path})", as_json)


admin_credentials.register(app)  # token and auth-reset, listed right after set-password


app.add_typer(accounts_app, name="accounts")

app.command("rules", epilog=EXIT_CODES_HELP)(trader.rules)


@app.command(epilog=EXIT_CODES_HELP)
def unlock(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account id.")],
    lockout: Annotated[
        int | None,
        typer.Option("--lockout", metavar="ID", help="End only this lockout id (default: all)."),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """End an account's active lockouts (if the config allows admin unlock)."""
    body = {} if lockout is None else {"lockout_id": lockout}
    data = admin_post(url, f"/admin/accounts/{account}/unlock", body, password_stdin, home)
    ended = data.get("ended") if isinstance(data, dict) else None
    count = f" ({len(ended)} lockout(s) ended)" if isinstance(ended, list) else ""
    report(data, f"Unlocked {account}{count}", as_json)


@app.command(epilog=EXIT_CODES_HELP)
def flatten(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account id.")],
    yes: YesOption = False,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close every position and cancel every working order of an account."""
    confirm(f"Flatten {account}: close all positions and cancel all orders?", yes)
    data = admin_post(url, f"/admin/accounts/{account}/flatten", None, password_stdin, home)
    left = len(data.get("positions") or []) + len(data.get("orders") or [])
    done = "flat, no working orders" if not left else f"{left} position(s)/order(s) still open"
    report(data, f"{account} flattened: {done}", as_json)


@app.command("reset-day", epilog=EXIT_CODES_HELP)
def reset_day(
    yes: YesOption = False,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Force the daily reset now: new trading day, PnL to zero, day-bound lockouts end."""
    confirm("Force the daily reset for every account now?", yes)
    data = admin_post(url, "/admin/reset-day", None, password_stdin, home)
    ended = sum(len(ids) for ids in (data.get("lockouts_ended") or {}).values())
    day = data.get("trading_day")
    report(data, f"Daily reset done: trading day {day}, {ended} lockout(s) ended", as_json)


# After the account commands: --help lists commands in the order they were added.
admin_diagnostics.register(app)


def main() -> None:
    """Console-script entry point."""
    run(app)


if __name__ == "__main__":
    main()
