"""risk-admin config: show, validate, edit and reload the daemon configuration."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.syntax import Syntax

from cli.admin_common import PasswordStdinOption, admin_post, authenticate, report
from cli.client import ApiFailure, Client, HomeOption, UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import JsonOption, console, emit_json, emit_text, note
from risk_manager.brokers import registry as brokers
from risk_manager.config.loader import ConfigError, read_text
from risk_manager.config.validate import validate_text

config_app = typer.Typer(
    help="Show, validate, edit and reload the daemon configuration.", no_args_is_help=True
)


AllowEmptyOption = Annotated[
    bool,
    typer.Option(
        "--allow-empty", help="accept a config with no account or no enabled rule (enforces none)"
    ),
]


def config_problems(text: str, source: str, *, allow_empty: bool = False) -> list[str]:
    """Problems ("key: reason") that make the TOML text an unusable config; empty when valid.

    The daemon's own validator (the one start-up, reload and replace use), so this reports
    exactly what the daemon would.
    """
    brokers.load_plugins()  # as the daemon does: the config may name a plugin's broker kind
    try:
        validate_text(text, source, allow_empty=allow_empty)
    except ConfigError as exc:
        return exc.problems
    return []


def config_text(data: Any) -> str:
    """The TOML file text from GET /admin/config."""
    if isinstance(data, dict):
        for key in ("text", "toml", "content"):
            if isinstance(data.get(key), str):
                return data[key]
    raise CliError("daemon reply has no config text")


@config_app.command("show", epilog=EXIT_CODES_HELP)
def config_show(
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the daemon's configuration file (highlighted on a terminal; exact bytes to a pipe
    or file, so `config show > backup.toml` is a faithful copy)."""
    with Client(url, home=home) as client:
        authenticate(client, password_stdin)
        data = client.get("/admin/config")
    text = config_text(data)
    if as_json:
        emit_json(data)
    elif console.is_terminal:
        syntax = Syntax(text, "toml", theme="ansi_dark", background_color="default", word_wrap=True)
        console.print(syntax)
    else:
        emit_text(text)


@config_app.command("validate", epilog=EXIT_CODES_HELP)
def config_validate(
    file: Annotated[Path, typer.Argument(help="TOML file to check.", exists=True, dir_okay=False)],
    as_json: JsonOption = False,
    allow_empty: AllowEmptyOption = False,
) -> None:
    """Check a config file locally without sending it anywhere; lists each problem."""
    _, problems = _read_config(file, allow_empty=allow_empty)
    if as_json:
        emit_json({"file": str(file), "valid": not problems, "problems": problems})
    elif not problems:
        console.print(f"[green]✓[/] {file} is a valid configuration")
    if problems:
        raise _invalid(file, problems, show=not as_json)


def _read_config(file: Path, *, allow_empty: bool = False) -> tuple[str, list[str]]:
    """The file's text and its problems (empty when valid); not UTF-8 is a problem too."""
    try:
        text = read_text(file)
    except ConfigError as exc:
        return "", exc.problems
    return text, config_problems(text, str(file), allow_empty=allow_empty)


def _invalid(file: Path, problems: list[str], *, show: bool = True) -> CliError:
    """Exit 5 with each problem on its own line above the summary."""
    error = CliError(
        f"{file}: {len(problems)} problem(s) in the configuration", ExitCode.INVALID_CONFIG
    )
    error.lines = problems if show else []
    return error


def editor_command() -> list[str]:
    """$EDITOR, else $VISUAL, else notepad on Windows / vi elsewhere, split like a shell."""
    command = os.environ.get("EDITOR") or os.environ.get("VISUAL")
    if not command:
        return ["notepad"] if sys.platform == "win32" else ["vi"]
    return shlex.split(command, posix=sys.platform != "win32")


def _edit_until_valid(path: Path, problems: list[str]) -> str:
    """Open the editor on `path` until it holds a valid config or the user gives up."""
    while True:
        try:
            subprocess.run([*editor_command(), str(path)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise CliError(f"editor failed: {exc}") from None
        text = path.read_text(encoding="utf-8")
        problems[:] = config_problems(text, "edited config")
        if not problems:
            return text
        for problem in problems:
            note(f"  [red]✗[/] {escape(problem)}")
        if not sys.stdin.isatty() or not typer.confirm("Re-open the editor?", True, err=True):
            raise CliError(
                f"config not changed: {len(problems)} problem(s)", ExitCode.INVALID_CONFIG
            )


@config_app.command("edit", epilog=EXIT_CODES_HELP)
def config_edit(
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Edit the live config in $EDITOR; validated locally, then by the daemon, then applied.
    Says what changed, what is in force now and what waits for `risk-admin restart`."""
    with Client(url, home=home) as client:
        authenticate(client, password_stdin)
        original = config_text(client.get("/admin/config"))
        with tempfile.TemporaryDirectory(prefix="risk-admin-") as folder:
            path = Path(folder) / "risk_manager.toml"
            path.write_text(original, encoding="utf-8")
            problems: list[str] = []
            while True:
                text = _edit_until_valid(path, problems)
                if text == original:
                    report({"changed": False}, "No changes; nothing sent", as_json)
                    return
                try:
                    data = _put_config(client, text, password_stdin)
                    break
                except ApiFailure as exc:
                    if exc.exit_code != ExitCode.INVALID_CONFIG or not sys.stdin.isatty():
                        raise
                    for problem in exc.details or [exc.message]:
                        note(f"  [red]✗[/] {escape(str(problem))}")
                    exc.lines = []  # already shown
                    if not typer.confirm(
                        "The daemon refused it. Re-open the editor?", True, err=True
                    ):
                        raise
    report_change(data, "Configuration replaced", as_json)


def _put_config(client: Client, text: str, password_stdin: bool) -> Any:
    try:
        return client.put_text("/admin/config", text, "application/toml")
    except ApiFailure as exc:
        # The token is short-lived and the editor may have been open a while: log in once more.
        if exc.status != 401 or password_stdin:
            raise
        authenticate(client)
        return client.put_text("/admin/config", text, "application/toml")


@config_app.command("reload", epilog=EXIT_CODES_HELP)
def config_reload(
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    allow_empty: AllowEmptyOption = False,
) -> None:
    """Make the daemon reread its config file (refused, and the old one kept, if invalid).
    Says what changed, what is in force now and what waits for `risk-admin restart`."""
    path = "/admin/config/reload" + ("?allow_empty=true" if allow_empty else "")
    data = admin_post(url, path, None, password_stdin, home)
    report_change(data, "Configuration file reread", as_json)


@config_app.command("replace", epilog=EXIT_CODES_HELP)
def config_replace(
    file: Annotated[Path, typer.Argument(help="The new TOML config.", exists=True, dir_okay=False)],
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    allow_empty: AllowEmptyOption = False,
) -> None:
    """Replace the daemon's config with FILE (checked here first, then by the daemon; nothing
    changes on any problem). Says what applies now and what waits for a restart."""
    text, problems = _read_config(file, allow_empty=allow_empty)
    if problems:
        raise _invalid(file, problems)
    path = "/admin/config" + ("?allow_empty=true" if allow_empty else "")
    with Client(url, home=home) as client:
        authenticate(client, password_stdin)
        data = client.put_text(path, text, "application/toml")
    report_change(data, f"Configuration replaced with {file}", as_json)


def change_lines(data: dict[str, Any]) -> list[str]:
    """What a replace or reload did, for people: changed, applied now, waiting for a restart."""
    changed = list(data.get("changed") or [])
    applied = list(data.get("applied") or [])
    pending = list(data.get("restart_required") or [])
    lines = []
    if not changed:
        lines.append("No setting differs from the last applied configuration.")
    else:
        lines.append(f"Changed: {len(changed)} setting(s).")
    if applied:
        lines.append("[green]In force now:[/]")
        lines += [f"  [green]✓[/] {escape(key)}" for key in applied]
    if pending:
        lines.append("[bold yellow]Saved, but NOT in force until the daemon restarts:[/]")
        for key in pending:
            parts = key.split(".")
            warning = ""
            if parts[0] == "accounts" and len(parts) == 2:
                warning = " [bold red](this account is NOT protected until the restart)[/]"
            lines.append(f"  [yellow]![/] {escape(key)}{warning}")
        lines.append("Run [bold]risk-admin restart[/] to put them in force.")
    return lines


def report_change(data: Any, title: str, as_json: bool) -> None:
    """The route's data as JSON, or what changed / applies now / needs a restart."""
    if as_json or not isinstance(data, dict):
        report(data, title, as_json)
        return
    mark = "[yellow]![/]" if data.get("restart_required") else "[green]✓[/]"
    console.print(f"{mark} {title}", highlight=False)
    for line in change_lines(data):
        console.print(line, highlight=False)
