"""What the risk-admin command modules share: admin login, admin POST, options, confirmations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cli.admin_auth import AuthError, login, read_password
from cli.client import Client
from cli.exit_codes import CliError, ExitCode
from cli.output import console, emit_json, note

PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the admin password from the first line of stdin "
        "(else $RISK_MANAGER_ADMIN_PASSWORD, else a prompt).",
    ),
]


def authenticate(client: Client, password_stdin: bool = False) -> None:
    """Log in with the admin password and keep the bearer token on `client`."""
    try:
        client.token = login(client.http, lambda: _password(password_stdin), on_wait=_announce_wait)
    except AuthError as exc:
        if isinstance(exc.__cause__, httpx.TransportError):
            raise client.down() from exc
        raise CliError(f"admin login failed: {exc.message}", ExitCode.AUTH_FAILED) from exc


def _password(from_stdin: bool) -> str:
    """Read once the daemon has answered: no prompt for a daemon that is down or has none."""
    if not from_stdin:
        return read_password(prompt=sys.stdin.isatty())
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise AuthError("no admin password on stdin")
    return password


def _announce_wait(seconds: int) -> None:
    note(
        f"Admin auth is slowed after repeated failed logins: waiting {seconds} s "
        "(an OS administrator can clear it with risk-admin auth-reset)"
    )


def admin_post(
    url: str | None, path: str, body: dict[str, Any] | None, stdin: bool, home: Path | None = None
) -> Any:
    """Log in, then POST to an admin route."""
    with Client(url, home=home) as client:
        authenticate(client, stdin)
        return client.post(path, body)


def report(data: Any, message: str, as_json: bool) -> None:
    """Print the route's data as JSON, or a one-line confirmation."""
    if as_json:
        emit_json(data)
    else:
        console.print(f"[green]✓[/] {message}")
