"""Admin CLI daemon control: start, stop, restart, status (the service on Windows)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.admin_config import config_problems
from cli.client import check_url
from cli.exit_codes import ExitCode
from cli.service_common import HomeOption, JsonOption, code_for, console, emit_json, fail
from risk_manager.paths import HomePaths, default_home
from risk_manager.service import control
from risk_manager.service.errors import ControlError, NotRunningError


def _refuse_invalid_config(home: Path | None) -> None:
    """Exit 5 listing each problem when the home's config file cannot be used."""
    path = HomePaths(home or default_home()).config_file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return  # no file: the daemon writes the example on first start
    problems = config_problems(text, str(path))
    if problems:
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        fail(f"{path}: {len(problems)} problem(s); nothing started", ExitCode.INVALID_CONFIG)


def _said_since(path: Path, offset: int, lines: int = 8) -> list[str]:
    """The last lines the daemon wrote to its console output after `offset`."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def _is_alarm(line: str) -> bool:
    return any(f"| {level}" in line for level in ("CRITICAL", "ERROR"))


def start_daemon(
    home: Path | None, *, as_json: bool, timeout: float = control.START_TIMEOUT
) -> None:
    """Start, refusing an invalid config first; on failure show what the daemon said."""
    _refuse_invalid_config(home)
    if not as_json:
        console.print("Starting service…" if sys.platform == "win32" else "Starting daemon…")
    logs = HomePaths(home or default_home()).logs_dir
    sources = [logs / "daemon.out", logs / "system.log"]
    offsets = [path.stat().st_size if path.exists() else 0 for path in sources]
    try:
        result = control.start(home, timeout=timeout)
    except ControlError as exc:
        # What the daemon itself said (port in use, state unusable, …), not just "see logs".
        # The console output when there is one; the log's alarms only when it said nothing.
        said = _said_since(sources[0], offsets[0]) or [
            line for line in _said_since(sources[1], offsets[1], 200) if _is_alarm(line)
        ]
        for line in said[-8:]:
            typer.echo(f"  {line}", err=True)
        fail(str(exc), code_for(exc))
    if as_json:
        emit_json({"started": not result.already_running, "pid": result.pid, "url": result.url})
    elif result.already_running:
        console.print(f"Daemon already running (PID: {result.pid}) at {result.url}")
    else:
        what = "Service" if sys.platform == "win32" else "Daemon"
        console.print(f"[green]{what} started successfully[/] (PID: {result.pid}) at {result.url}")


TimeoutOption = Annotated[
    float, typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait.", min=1)
]


def start(
    home: HomeOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = control.START_TIMEOUT,
) -> None:
    """Start the daemon (the service on Windows, a background process elsewhere)."""
    start_daemon(home, as_json=as_json, timeout=timeout)


def stop(
    home: HomeOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = control.STOP_TIMEOUT,
) -> None:
    """Stop the daemon gracefully and wait until it has exited."""
    try:
        result = control.stop(home, timeout=timeout)
    except ControlError as exc:
        fail(str(exc), code_for(exc))
    if as_json:
        emit_json({"stopped": True, "pid": result.pid, "exit_code": result.exit_code})
        return
    code = "" if result.exit_code is None else f", exit code {result.exit_code}"
    console.print(f"Daemon stopped (PID: {result.pid}{code})")


def restart(
    home: HomeOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = control.START_TIMEOUT,
) -> None:
    """Stop the daemon if it runs, then start it again (never on a home that does not exist)."""
    where = HomePaths(home or default_home()).home
    if not where.is_dir():
        # Restarting means "the daemon I have": creating a fresh home would start one with
        # the example config and no protection for the accounts the admin had in mind.
        fail(f"no daemon home at {where}; check --home (`start` creates one)", ExitCode.NOT_FOUND)
    try:
        control.stop(home)
    except NotRunningError:
        pass
    except ControlError as exc:
        fail(str(exc), code_for(exc))
    start_daemon(home, as_json=as_json, timeout=timeout)


def status(
    home: HomeOption = None,
    as_json: JsonOption = False,
    url: Annotated[
        str | None,
        typer.Option("--url", metavar="URL", help="API base URL (default: from the daemon)."),
    ] = None,
) -> None:
    """Show whether the daemon runs, its PID and its health."""
    info = control.status(home, url=None if url is None else check_url(url))
    if as_json:
        emit_json(info.to_dict())
    elif not info.running:
        console.print(f"[red]Daemon not running[/] (no PID file, no answer at {info.url})")
    else:
        health = "healthy" if info.healthy else "[red]not answering[/]"
        service = f", service {info.service_state}" if info.service_state else ""
        console.print(f"Daemon running (PID: {info.pid}) at {info.url}: {health}{service}")
    if not info.running:
        raise typer.Exit(int(ExitCode.NOT_RUNNING))
    if not info.healthy:
        raise typer.Exit(int(ExitCode.UNHEALTHY))
