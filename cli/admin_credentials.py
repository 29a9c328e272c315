"""risk-admin token and auth-reset: a bearer token for curl / Swagger, and clearing the penalty."""

from __future__ import annotations

import typer

from cli.admin_common import PasswordStdinOption, authenticate, report
from cli.client import Client, HomeOption, UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError
from cli.output import JsonOption, emit_json
from risk_manager.auth.penalty import request_reset
from risk_manager.auth.session import RESET_MARKER
from risk_manager.paths import HomePaths, default_home


def token(
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log in (SCRAM-SHA-256, the daemon proven genuine) and print a short-lived bearer token.

    Paste it into Swagger's Authorize button at /docs, or send it as
    `Authorization: Bearer <token>` with curl. It ends after 15 minutes, on a password change,
    or when the daemon restarts.
    """
    with Client(url, home=home) as client:
        authenticate(client, password_stdin)
        value = client.token
    if as_json:
        emit_json({"token": value, "token_type": "bearer"})
    else:
        # Bare on stdout so `TOKEN=$(risk-admin token)` works.
        typer.echo(value)


def auth_reset(home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Clear the admin-auth penalty left by failed logins, on this machine, without the password.

    Needs write access to the home's secrets/ folder (an OS administrator, or the service
    account). The daemon notices the marker at its next auth request or health read (this
    command reads health to apply it at once); no restart.
    """
    paths = HomePaths(home or default_home())
    marker = paths.secrets_dir / RESET_MARKER
    if not paths.secrets_dir.is_dir():
        raise CliError(f"no folder {paths.secrets_dir}: is {paths.home} the daemon's home?")
    try:
        request_reset(marker)
    except OSError as exc:
        raise CliError(
            f"cannot write {marker}: {exc.strerror or exc} (run as an administrator of this "
            "machine: the secrets folder is theirs and the service account's only)"
        ) from None
    with Client(url, home=paths.home) as client:
        try:
            health = client.get("/health")
        except CliError:
            health = None  # daemon down: it starts without a penalty anyway
    state = health.get("admin_auth") if isinstance(health, dict) else None
    data = {"reset_marker": str(marker), "admin_auth": state}
    report(data, f"Admin-auth penalty reset ({marker})", as_json)


def register(app: typer.Typer) -> None:
    """Add the commands to risk-admin."""
    app.command("token", epilog=EXIT_CODES_HELP)(token)
    app.command("auth-reset", epilog=EXIT_CODES_HELP)(auth_reset)
