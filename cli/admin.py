"""risk-admin: service control, the admin password, configuration and admin actions."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
import typer
from rich.markup import escape
from rich.syntax import Syntax

from cli import service, trader
from cli.admin_auth import AuthError, login, read_new_password, read_password
from cli.client import ApiFailure, Client, DaemonDown, UrlOption
from cli.exit_codes import EXIT_CODES_HELP, CliError, ExitCode
from cli.output import (
    JsonOption,
    YesOption,
    confirm,
    console,
    emit_json,
    note,
    run,
    table,
    yes_no,
)
from risk_manager.auth.errors import SecretFileError
from risk_manager.auth.passwords import (
    check_strength,
    hash_password,
    load_secret,
    save_secret,
    validate_params,
)
from risk_manager.config.loader import ConfigError, decode, parse_config
from risk_manager.paths import HomePaths, default_home
from risk_manager.service import control

app = typer.Typer(
    name="risk-admin",
    help="Administer the risk manager daemon: install and control the service, set the admin "
    "password, edit and reload the configuration, unlock or flatten accounts, read the logs.",
    epilog=EXIT_CODES_HELP + " Service commands also use 4 not elevated, 5 nssm.exe missing, "
    "6 Windows only, 7 timed out, 8 not installed, 9 unhealthy.",
    no_args_is_help=True,
    add_completion=False,
)
service.register(app)
config_app = typer.Typer(
    help="Show, validate, edit and reload the daemon configuration.", no_args_is_help=True
)
app.add_typer(config_app, name="config")

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Home directory (default: $RISK_MANAGER_HOME or the platform's)."),
]
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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no admin password on stdin", ExitCode.AUTH_FAILED)
    else:
        password = read_password(prompt=sys.stdin.isatty())
    try:
        client.token = login(client.http, password)
    except AuthError as exc:
        if isinstance(exc.__cause__, httpx.TransportError):
            raise DaemonDown(client.url) from exc
        raise CliError(f"admin login failed: {exc.message}", ExitCode.AUTH_FAILED) from exc


def admin_post(url: str | None, path: str, body: dict[str, Any] | None, stdin: bool) -> Any:
    """Log in, then POST to an admin route."""
    with Client(url) as client:
        authenticate(client, stdin)
        return client.post(path, body)


def report(data: Any, message: str, as_json: bool) -> None:
    """Print the route's data as JSON, or a one-line confirmation."""
    if as_json:
        emit_json(data)
    else:
        console.print(f"[green]✓[/] {message}")


@app.command("set-password", epilog=EXIT_CODES_HELP)
def set_password(
    home: HomeOption = None,
    scrypt_n: Annotated[
        int, typer.Option("--scrypt-n", hidden=True, help="scrypt cost (tests).")
    ] = 2**14,
    as_json: JsonOption = False,
) -> None:
    """Set the admin password (typed twice without echo, or $RISK_MANAGER_ADMIN_PASSWORD)."""
    try:
        validate_params(scrypt_n, 8, 1, 32)
    except ValueError as exc:
        raise CliError(f"--scrypt-n: {exc}", ExitCode.USAGE) from None
    try:
        password = read_new_password(prompt=sys.stdin.isatty())
    except AuthError as exc:
        raise CliError(exc.message, ExitCode.USAGE) from None
    reasons = check_strength(password)
    if reasons:
        raise CliError("password refused: " + "; ".join(reasons), ExitCode.USAGE)
    path = HomePaths(home or default_home()).admin_secret
    try:
        save_secret(path, hash_password(password, n=scrypt_n))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    # The daemon rereads the secret file on the next login; no restart needed.
    report({"secret_file": str(path)}, f"Admin password set ({path})", as_json)


@app.command(epilog=EXIT_CODES_HELP)
def accounts(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Configured accounts with profile, balance and whether they may trade."""
    with Client(url) as client:
        data = client.get("/accounts")
    if as_json:
        emit_json(data)
        return
    rows = [
        [
            a["account_id"],
            a.get("name"),
            a.get("profile"),
            f"${float(a.get('balance') or 0):,.2f}",
            yes_no(bool(a.get("can_trade"))),
            yes_no(bool(a.get("connected"))),
        ]
        for a in data
    ]
    columns = ("Account", "Name", "Profile", "Balance $", "Can trade", "Connected")
    console.print(table("Accounts", columns, rows))


app.command("rules", epilog=EXIT_CODES_HELP)(trader.rules)


@app.command(epilog=EXIT_CODES_HELP)
def unlock(
    account: Annotated[str, typer.Argument(help="Account id.")],
    lockout: Annotated[
        int | None, typer.Option("--lockout", help="End only this lockout id (default: all).")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """End an account's active lockouts (if the config allows admin unlock)."""
    body = {} if lockout is None else {"lockout_id": lockout}
    data = admin_post(url, f"/admin/accounts/{account}/unlock", body, password_stdin)
    ended = data.get("ended") if isinstance(data, dict) else None
    count = f" ({len(ended)} lockout(s) ended)" if isinstance(ended, list) else ""
    report(data, f"Unlocked {account}{count}", as_json)


@app.command(epilog=EXIT_CODES_HELP)
def flatten(
    account: Annotated[str, typer.Argument(help="Account id.")],
    yes: YesOption = False,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close every position and cancel every working order of an account."""
    confirm(f"Flatten {account}: close all positions and cancel all orders?", yes)
    data = admin_post(url, f"/admin/accounts/{account}/flatten", None, password_stdin)
    report(data, f"Flatten of {account} submitted", as_json)


@app.command("reset-day", epilog=EXIT_CODES_HELP)
def reset_day(
    yes: YesOption = False,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Force the daily reset now: new trading day, PnL to zero, day-bound lockouts end."""
    confirm("Force the daily reset for every account now?", yes)
    data = admin_post(url, "/admin/reset-day", None, password_stdin)
    report(data, "Daily reset done", as_json)


# ---- config ------------------------------------------------------------------------------


def config_problems(text: str, source: str) -> list[str]:
    """Problems ("key: reason") that make the TOML text an unusable config; empty when valid."""
    try:
        parse_config(decode(text, source), source)
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
    password_stdin: PasswordStdinOption = False, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Print the daemon's configuration file (syntax-highlighted TOML)."""
    with Client(url) as client:
        authenticate(client, password_stdin)
        data = client.get("/admin/config")
    if as_json:
        emit_json(data)
    else:
        console.print(
            Syntax(config_text(data), "toml", theme="ansi_dark", background_color="default")
        )


@config_app.command("validate", epilog=EXIT_CODES_HELP)
def config_validate(
    file: Annotated[Path, typer.Argument(help="TOML file to check.", exists=True, dir_okay=False)],
    as_json: JsonOption = False,
) -> None:
    """Check a config file locally without sending it anywhere; lists each problem."""
    try:
        problems = config_problems(file.read_text(encoding="utf-8"), str(file))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {exc}", ExitCode.USAGE) from None
    if as_json:
        emit_json({"file": str(file), "valid": not problems, "problems": problems})
    elif not problems:
        console.print(f"[green]✓[/] {file} is a valid configuration")
    for problem in problems if not as_json else []:
        note(f"  {problem}")
    if problems:
        raise CliError(
            f"{file}: {len(problems)} problem(s) in the configuration", ExitCode.INVALID_CONFIG
        )


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
    password_stdin: PasswordStdinOption = False, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Edit the live config in $EDITOR; validated locally, then by the daemon, then applied."""
    with Client(url) as client:
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
                    if not typer.confirm(
                        "The daemon refused it. Re-open the editor?", True, err=True
                    ):
                        raise
    report(data, "Configuration replaced and applied", as_json)


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
    password_stdin: PasswordStdinOption = False, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Make the daemon reread its config file (refused, and the old one kept, if invalid)."""
    data = admin_post(url, "/admin/config/reload", None, password_stdin)
    report(data, "Configuration reloaded", as_json)


# ---- logs and doctor ----------------------------------------------------------------------

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
    if as_json:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    else:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("logs", epilog=EXIT_CODES_HELP)
def logs(
    file: Annotated[LogFile, typer.Option("--file", "-f", help="Which log.")] = "system",
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Lines to show.")] = 50,
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
    if health is None:
        checks.append(_check("daemon reachable", False, down, ExitCode.NOT_RUNNING))
    else:
        state = str(health.get("status"))
        checks.append(_check("daemon reachable", True, f"{base} (PID {health.get('pid')})"))
        checks.append(_check("daemon healthy", state == "healthy", state, ExitCode.UNHEALTHY))
    checks.append(_port_check(base, health is not None))
    pid = control.read_pid(paths)
    if pid is not None:
        checks.append(_check("PID file", True, f"PID {pid} is alive"))
    elif paths.pid_file.exists():
        checks.append(_check("PID file", False, f"stale {paths.pid_file} (no such process)"))
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


@app.command("doctor", epilog=EXIT_CODES_HELP)
def doctor(home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Check the installation: home, config, password, daemon health, port, PID file."""
    checks = doctor_checks(home or default_home(), url)
    if as_json:
        emit_json(checks)
    else:
        for check in checks:
            mark = "[green]✓[/]" if check["ok"] else "[red]✗[/]"
            console.print(f"{mark} {check['check']}: {escape(check['detail'])}", highlight=False)
    failed = next((c for c in checks if not c["ok"]), None)
    if failed is not None:
        raise CliError(f"doctor: {failed['check']} failed", ExitCode(failed["exit_code"]))


def main() -> None:
    """Console-script entry point."""
    run(app)


if __name__ == "__main__":
    main()
