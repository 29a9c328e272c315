"""What the admin CLI's service commands share: exit codes for control errors, options, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from cli.exit_codes import ExitCode
from risk_manager.service.errors import (
    AccessDeniedError,
    ApiUnavailableError,
    ControlError,
    ControlTimeoutError,
    NotInstalledError,
    NotRunningError,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 a command failed, 2 bad usage, 3 daemon not running, "
    "5 invalid configuration, 6 home not found, 7 timed out, 8 service not installed, "
    "9 running but unhealthy, 10 aborted at a prompt, 11 needs an elevated administrator "
    "(or access denied), 12 nssm.exe not found, 13 Windows only."
)
SYSTEMD_HINT = (
    "NSSM is Windows-only; on Linux install the systemd unit in deploy/systemd "
    "(see deploy/systemd/README.md), or use `start`/`stop` for a background daemon"
)

console = Console()
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        metavar="DIR",
        help="Home directory (default: $RISK_MANAGER_HOME or the platform's).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes; never prompt.")]


def fail(message: str, code: ExitCode) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(int(code))


def code_for(exc: ControlError) -> ExitCode:
    for kind, code in (
        (NotRunningError, ExitCode.NOT_RUNNING),
        (NotInstalledError, ExitCode.NOT_INSTALLED),
        (AccessDeniedError, ExitCode.NOT_ELEVATED),
        (ControlTimeoutError, ExitCode.TIMEOUT),
        (ApiUnavailableError, ExitCode.UNHEALTHY),
    ):
        if isinstance(exc, kind):
            return code
    return ExitCode.FAILED


def emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))
