"""risk-admin notify: check that notification channels reach their receivers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cli.admin_common import PasswordStdinOption, admin_post
from cli.client import UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import JsonOption, console, emit_json, table

notify_app = typer.Typer(help="Notification channels.", no_args_is_help=True)


@notify_app.command("test", epilog=EXIT_CODES_HELP)
def notify_test(
    channel: Annotated[
        str | None,
        typer.Option("--channel", metavar="NAME", help="Only this channel (default: every one)."),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a test message to each channel; print status code, latency and receiver error."""
    body = None if channel is None else {"channel": channel}
    results = admin_post(url, "/admin/notify/test", body, password_stdin)["channels"]
    if as_json:
        emit_json(results)
    else:
        rows = [
            [name, Text("ok", style="green") if r["ok"] else Text("failed", style="red"),
             r["status"], f"{r['latency_ms']:.0f} ms", r["error"]]
            for name, r in results.items()
        ]  # fmt: skip
        console.print(table(None, ["Channel", "Result", "HTTP", "Latency", "Error"], rows))
    failed = [name for name, r in results.items() if not r["ok"]]
    if failed:
        raise CliError(f"notify test failed for: {', '.join(failed)}", ExitCode.FAILED)
