"""Terminal output of both CLIs: rich tables and colour, --json, one-line errors."""

from __future__ import annotations

import json
import os
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
# Rich assumes 80 columns when stdout is not a terminal and would crop tables to that;
# a pipe or a file gets the width the user asked for ($COLUMNS), else a wide one.
PIPE_WIDTH = 200


def _width() -> int | None:
    if sys.stdout.isatty():
        return None
    try:
        return int(os.environ.get("COLUMNS", "")) or PIPE_WIDTH
    except ValueError:
        return PIPE_WIDTH


console = Console(width=_width())
err_console = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Write `data` as JSON to stdout (plain, no rich markup, so scripts can parse it)."""
    emit_text(json.dumps(data, indent=2, default=str) + "\n")


def emit_text(text: str) -> None:
    """Write data (a config file, log lines) byte for byte: no wrapping, markup or cropping."""
    sys.stdout.write(text)
    sys.stdout.flush()


def printable(text: str) -> str:
    """`text` with control characters (ESC, bidi overrides …) replaced: error messages quote
    whatever answered on the port, and a terminal must not run an escape sequence from it."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def error(message: str) -> None:
    """One line on stderr."""
    text = " ".join(message.split())  # a one-line contract, even for multi-line messages
    err_console.print(f"[bold red]error:[/] {escape(printable(text))}", highlight=False)


def note(message: str) -> None:
    """A hint on stderr (never pollutes --json stdout)."""
    err_console.print(message, highlight=False)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table; numeric-looking columns (PnL, qty, price) are right-aligned."""
    grid = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        words = (
            "pnl",
            "qty",
            "price",
            "$",
            "left",
            "fees",
            "realized",
            "total",
            "gross",
            "balance",
        )
        right = any(word in name.lower() for word in words)
        # A narrow screen wraps (folds) a text cell onto more lines; numbers stay whole. Nothing
        # is cut off with "…".
        grid.add_column(name, justify="right" if right else "left", overflow="fold", no_wrap=right)
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


def hide_flag_placeholders(command: Any) -> None:
    """A flag takes no value, so --help should show none (recent Typer prints "<bool>")."""
    pending = [command]
    while pending:
        current = pending.pop()
        pending += list(getattr(current, "commands", {}).values())
        help_option = current.get_help_option(current.context_class(current))
        for param in [*current.params, help_option]:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""


def run(app: typer.Typer) -> None:
    """Run a Typer app, turning CliError/AuthError into a one-line error and its exit code."""
    command = typer.main.get_command(app)
    hide_flag_placeholders(command)
    try:
        command()
    except CliError as exc:
        for line in exc.lines:
            note(f"  {escape(printable(line))}")
        error(exc.message)
        sys.exit(int(exc.exit_code))
    except AuthError as exc:
        error(exc.message)
        sys.exit(int(ExitCode.AUTH_FAILED))
