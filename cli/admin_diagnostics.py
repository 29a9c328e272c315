"""risk-admin logs and doctor: read the daemon's log files and check the installation."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import typer
from rich.markup import escape

from cli.admin_config import config_problems
from cli.client import Client, HomeOption, UrlOption
from cli.display import countdown
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import JsonOption, console, emit_json
from risk_manager.auth.errors import SecretFileError
from risk_manager.auth.passwords import load_secret
from risk_manager.paths import HomePaths, default_home
from risk_manager.service import control, drift, winservice

LogFile = Literal["system", "enforcement", "error"]


def tail(path: Path, lines: int) -> tuple[list[str], int]:
    """The last `lines` lines of a text file and the offset where the file ended."""
    with path.open("rb") as handle:
        last = [raw.decode("utf-8", "replace").rstrip("\r\n") for raw in deque(handle, lines)]
        return last, handle.tell()


def follow(path: Path, offset: int, as_json: bool) -> None:
    """Print lines appended after `offset` until Ctrl+C; survives rotation (a new file appears)."""
    handle = path.open("rb")
    # From where the tail stopped, so a line written in between is not lost.
    handle.seek(offset)
    try:
        while True:
            line = handle.readline()
            if line.endswith(b"\n"):
                _print_log_line(line.decode("utf-8", "replace").rstrip("\r\n"), as_json)
                continue
            handle.seek(-len(line), os.SEEK_CUR)  # a half-written line: wait for the rest
            time.sleep(0.25)
            try:
                stat = path.stat()
            except OSError:
                continue
            if stat.st_ino != os.fstat(handle.fileno()).st_ino or stat.st_size < handle.tell():
                handle.close()
                handle = path.open("rb")
    except KeyboardInterrupt:
        pass
    finally:
        handle.close()


def _print_log_line(line: str, as_json: bool) -> None:
    # Log lines are data: written as they are, never wrapped, cropped or restyled.
    sys.stdout.write((json.dumps(line) if as_json else line) + "\n")
    sys.stdout.flush()


def logs(
    file: Annotated[LogFile, typer.Option("--file", "-f", help="Which log.")] = "system",
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, metavar="N", help="Lines to show.")
    ] = 50,
    follow_: Annotated[bool, typer.Option("--follow", help="Keep printing new lines.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the end of a daemon log file (like tail; --follow like tail -f)."""
    path = HomePaths(home or default_home()).logs_dir / f"{file}.log"
    if not path.is_file():
        raise CliError(
            f"no log file {path} (has the daemon run with this --home?)", ExitCode.NOT_FOUND
        )
    last, offset = tail(path, lines)
    if as_json and not follow_:
        emit_json({"file": str(path), "lines": last})
        return
    for line in last:
        _print_log_line(line, as_json)
    if follow_:
        follow(path, offset, as_json)


def _check(name: str, ok: bool, detail: str, code: ExitCode = ExitCode.FAILED) -> dict[str, Any]:
    return {"check": name, "ok": ok, "detail": detail, "exit_code": 0 if ok else int(code)}


def _notification_checks(channels: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per notification channel: delivering, or why not."""
    checks = []
    for name, state in channels.items():
        parts = [f"{state['kind']}, sent {state['sent']}, queued {state['queued']}",
                 f"failures {state['failures']}",
                 f"last success {state['last_success'] or 'never'}"]  # fmt: skip
        if state["last_error"]:
            parts.append(f"last error: {state['last_error']}")
        checks.append(_check(f"notifications: {name}", state["ok"], "; ".join(parts)))
    return checks


def _port_check(url: str, reachable: bool) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if reachable:
        return _check("port", True, f"daemon listens on {host}:{port}")
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return _check(
                "port",
                False,
                f"{host}:{port} is taken by something that is not the daemon; change [daemon] port",
            )
    except OSError:
        return _check("port", False, f"nothing listens on {host}:{port}", ExitCode.NOT_RUNNING)


def _service_settings_check(home: Path) -> dict[str, Any]:
    """Windows: the live NSSM settings (`nssm get`) against the install plan; names any drift."""
    from cli.service import service_inputs

    inputs = service_inputs(home)
    if winservice.service_state(inputs.service_name) is None:
        return _check("service settings", False, "service not installed", ExitCode.NOT_INSTALLED)
    try:
        drifts = drift.service_drift(inputs)
    except drift.NssmUnansweredError as exc:
        return _check("service settings", False, f"could not read them: {exc}")
    detail = "; ".join(d.describe() for d in drifts) or "match the install plan"
    return _check("service settings", not drifts, detail)


def _auth_check(status: Any) -> dict[str, Any] | None:
    """Whether failed logins have locked or slowed admin authentication (from /health)."""
    if not isinstance(status, dict):
        return None
    failures = int(status.get("failures") or 0)
    wait = float(status.get("penalty_seconds") or status.get("seconds_remaining") or 0)
    if status.get("locked") or wait > 0:
        detail = (
            f"{failures} failed login(s): each admin login now waits {countdown(wait)} "
            "(clear it with `risk-admin auth-reset` as an OS administrator)"
        )
        return _check("admin login", False, detail, ExitCode.AUTH_FAILED)
    detail = f"{failures} failed login(s) in a row" if failures else "no failed logins"
    return _check("admin login", True, detail)


def _storage_check(storage: Any) -> dict[str, Any]:
    """Whether the daemon can write its database (from /health; null while it can)."""
    if not isinstance(storage, dict):
        return _check("storage", True, "the daemon writes its database")
    detail = (
        f"the daemon cannot write its database since {storage.get('since')}: "
        f"{storage.get('problem')}; {storage.get('queued_writes')} write(s) kept in memory, "
        f"every account {str(storage.get('trading_state')).upper()} until space returns"
    )
    return _check("storage", False, detail, ExitCode.UNHEALTHY)


def doctor_checks(home: Path, url: str | None) -> list[dict[str, Any]]:
    """The admin checklist: home, config, secret, daemon health, port, PID file and marker."""
    paths = HomePaths(home)
    checks = [_check("home directory", paths.home.is_dir(), str(paths.home))]
    if not paths.config_file.is_file():
        checks.append(
            _check("config", False, f"missing {paths.config_file}", ExitCode.INVALID_CONFIG)
        )
    else:
        problems = config_problems(paths.config_file.read_text(encoding="utf-8"), "config")
        detail = "; ".join(problems) or f"{paths.config_file} is valid"
        checks.append(_check("config", not problems, detail, ExitCode.INVALID_CONFIG))
    try:
        secret_ok = load_secret(paths.admin_secret) is not None
        detail = str(paths.admin_secret) if secret_ok else "not set: run risk-admin set-password"
    except SecretFileError as exc:
        secret_ok, detail = False, str(exc)
    checks.append(_check("admin password", secret_ok, detail, ExitCode.AUTH_FAILED))
    with Client(url, home=home, timeout=3.0) as client:
        try:
            health: dict[str, Any] | None = client.get("/health")
        except CliError as exc:
            health, down = None, exc.message
        base = client.url
        base, source = client.url, client.source
    if health is None:
        checks.append(_check("daemon reachable", False, down, ExitCode.NOT_RUNNING))
    else:
        state = str(health.get("status"))
        where = f"{base} (from {source}; PID {health.get('pid')})"
        checks.append(_check("daemon reachable", True, where))
        checks.append(_check("daemon healthy", state == "healthy", state, ExitCode.UNHEALTHY))
        checks.append(_storage_check(health.get("storage")))
        checks += _notification_checks(health.get("notifications") or {})
        if (auth := _auth_check(health.get("admin_auth"))) is not None:
            checks.append(auth)
    checks.append(_port_check(base, health is not None))
    pid = control.read_pid(paths)
    if pid is not None:
        checks.append(_check("PID file", True, f"PID {pid} is alive"))
    elif paths.pid_file.exists():
        checks.append(_check("PID file", False, f"stale {paths.pid_file} (no such process)"))
    if sys.platform == "win32":
        checks.append(_service_settings_check(home))
    if paths.running_marker.exists() and pid is None and health is None:
        checks.append(
            _check(
                "running marker",
                False,
                f"stale {paths.running_marker}: the last "
                "run did not shut down cleanly; see the logs",
            )
        )
    return checks


def doctor(home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Check the installation: home, config, password, daemon health and admin-login lockout,
    port (the one in the config when no daemon.url exists), PID file."""
    checks = doctor_checks(home or default_home(), url)
    if as_json:
        emit_json(checks)
    else:
        for check in checks:
            mark = "[green]✓[/]" if check["ok"] else "[red]✗[/]"
            # One check, one line in a file or a pipe; a terminal wraps it at word boundaries.
            console.print(
                f"{mark} {check['check']}: {escape(check['detail'])}",
                highlight=False,
                soft_wrap=not sys.stdout.isatty(),
            )
    failed = next((c for c in checks if not c["ok"]), None)
    if failed is not None:
        raise CliError(f"doctor: {failed['check']} failed", ExitCode(failed["exit_code"]))


def register(app: typer.Typer) -> None:
    """Add the logs and doctor commands to the admin CLI."""
    app.command("logs", epilog=EXIT_CODES_HELP)(logs)
    app.command("doctor", epilog=EXIT_CODES_HELP)(doctor)
