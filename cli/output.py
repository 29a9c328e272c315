"""Terminal output of both CLIs: rich tables and colour, --json, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.admin_auth import AuthError
from cli.exit_codes import CliError, ExitCode

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the raw data as JSON on stdout and nothing else.")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Write `data` as JSON to stdout (plain, no rich markup, so scripts can parse it)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """One line on stderr."""
    text = " ".join(message.split())  # a one-line contract, even for multi-line messages
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False)


def note(message: str) -> None:
    """A hint on stderr (never pollutes --json stdout)."""
    err_console.print(message, highlight=False)


def fail(message: str, code: ExitCode = ExitCode.FAILED) -> CliError:
    """A CliError to raise: `raise fail(...)`."""
    return CliError(message, code)


def money(value: Any) -> Text:
    """Dollars with sign colour: red below zero, green above."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return Text("—", style="dim")
    style = "red" if amount < 0 else "green" if amount > 0 else ""
    sign = "-" if amount < 0 else ""
    return Text(f"{sign}${abs(amount):,.2f}", style=style)


def countdown(seconds: float | None) -> str:
    """Time left as 1h 02m 03s / 4m 05s / 9s; "until reset" when open-ended."""
    if seconds is None:
        return "until reset"
    left = max(0, int(seconds + 0.999))  # round up: "0s" only once it has really ended
    hours, rest = divmod(left, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table; numeric-looking columns (PnL, qty, price) are right-aligned."""
    grid = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        right = any(word in name.lower() for word in ("pnl", "qty", "price", "$", "left", "fees"))
        grid.add_column(name, justify="right" if right else "left")
    for row in rows:
        grid.add_row(*(cell if isinstance(cell, Text) else _cell(cell) for cell in row))
    return grid


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def yes_no(flag: bool, good: bool = True) -> Text:
    """yes/no coloured by whether the value is the good one."""
    return Text("yes" if flag else "no", style="green" if flag == good else "red")


def confirm(question: str, yes: bool) -> None:
    """Ask on stderr (stdout stays clean for --json); abort with exit 10 on no."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{question} — not a terminal; pass --yes to confirm", ExitCode.USAGE)
    if not typer.confirm(question, default=False, err=True):
        raise CliError("aborted; nothing was changed", ExitCode.ABORTED)


def run(app: typer.Typer) -> None:
    """Run a Typer app, turning CliError/AuthError into a one-line error and its exit code."""
    try:
        app()
    except CliError as exc:
        error(exc.message)
        sys.exit(int(exc.exit_code))
    except AuthError as exc:
        error(exc.message)
        sys.exit(int(ExitCode.AUTH_FAILED))
