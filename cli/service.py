"""Admin CLI service commands: install-daemon, uninstall-daemon, start, stop, restart, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from cli.admin_config import config_problems
from cli.client import check_url
from cli.exit_codes import ExitCode
from risk_manager.paths import HomePaths, default_home
from risk_manager.service import aclcheck, control, nssm, plan, runner
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
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the exact commands and change nothing.")
]


def _fail(message: str, code: ExitCode) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(int(code))


def _code_for(exc: ControlError) -> ExitCode:
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


def _confirm(question: str, yes: bool, *, default: bool = False) -> bool:
    if yes:
        return True
    return typer.confirm(question, default=default)


def _emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _inputs(home: Path | None, python: Path | None, nssm_exe: Path | None) -> plan.ServiceInputs:
    """Windows inputs; off Windows (dry run only) example Windows paths stand in for defaults."""
    on_windows = sys.platform == "win32"
    if home is not None:
        win_home = PureWindowsPath(home.resolve() if on_windows else str(home))
    elif on_windows:
        win_home = PureWindowsPath(default_home())
    else:
        win_home = PureWindowsPath(r"C:\ProgramData\RiskManager")
    win_python = PureWindowsPath(str(python)) if python is not None else plan.default_python()
    try:
        exe = PureWindowsPath(str(nssm.find_nssm(nssm_exe)))
    except nssm.NssmNotFoundError:
        exe = PureWindowsPath(str(nssm_exe) if nssm_exe else "nssm.exe")
    program_files = os.environ.get("PROGRAMFILES") if on_windows else None
    program_dir = (
        PureWindowsPath(program_files) / "RiskManager"
        if program_files
        else plan.DEFAULT_PROGRAM_DIR
    )
    try:
        return plan.ServiceInputs(
            home=win_home, python=win_python, nssm=exe, program_dir=program_dir
        )
    except ValueError as exc:
        hint = (
            ""
            if on_windows
            else " (off Windows this prints the Windows plan: give a Windows path, "
            "e.g. --home 'D:\\Risk')"
        )
        _fail(f"{exc}{hint}", ExitCode.USAGE)


def service_inputs(home: Path) -> plan.ServiceInputs:
    """The plan inputs of an installed service with this home (for `doctor`)."""
    return _inputs(home, None, None)


def _preflight(nssm_exe: Path | None) -> None:
    if sys.platform != "win32":
        _fail(SYSTEMD_HINT, ExitCode.WINDOWS_ONLY)
    if not nssm.is_admin():
        _fail("run this from an elevated (Run as administrator) prompt", ExitCode.NOT_ELEVATED)
    try:
        nssm.find_nssm(nssm_exe)
    except nssm.NssmNotFoundError as exc:
        _fail(str(exc), ExitCode.NSSM_NOT_FOUND)


def _refuse_writable_code(inputs: plan.ServiceInputs) -> None:
    """python.exe, its import path and nssm.exe must be writable by administrators only."""
    try:
        found = aclcheck.problems(inputs.python, inputs.nssm)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        _fail(f"cannot check who may change {inputs.python}: {exc}", ExitCode.FAILED)
    if found:
        _fail(aclcheck.REFUSAL.format("; ".join(found)), ExitCode.FAILED)


def _run_with_progress(steps: list[plan.Step]) -> None:
    """Run the steps under a progress bar; print a check mark as each phase completes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    last_of_phase = {step.phase: step for step in steps}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("Installing…", total=len(steps))

        def done(outcome: runner.StepOutcome) -> None:
            progress.advance(task)
            progress.update(task, description=outcome.step.title)
            if not outcome.ok and not outcome.step.fatal:
                progress.console.print(f"[yellow]! {outcome.step.title}: {outcome.summary}")
            if last_of_phase[outcome.step.phase] is outcome.step and outcome.ok:
                progress.console.print(f"[green]✓[/] {outcome.step.phase}")

        try:
            runner.run_steps(steps, runner=runner.run_command, on_done=done)
        except runner.StepFailedError as exc:
            progress.stop()
            _fail(_failure_report(exc), ExitCode.FAILED)


def _failure_report(exc: runner.StepFailedError) -> str:
    """Which step failed, its command, and what the rollback did (and did not) undo."""
    lines = [f"{exc} — command: {exc.outcome.step.cmdline}"]
    if exc.rolled_back:
        lines.append(f"rolled back {len(exc.rolled_back)} step(s); the install can be run again")
    for outcome in exc.rollback_failures:
        lines.append(
            f"rollback step failed, undo by hand: {outcome.step.cmdline} ({outcome.summary})"
        )
    return "\n".join(lines)


def _say_plan_is_windows(kind: str, inputs: plan.ServiceInputs) -> None:
    """Off Windows a dry run prints the Windows plan: say so on stderr (stdout is the plan)."""
    if sys.platform != "win32":
        note = f"the Windows {kind} plan for home {inputs.home} (NSSM is Windows-only; "
        note += "on Linux use the systemd unit in deploy/systemd)"
        typer.echo(f"REM Printing {note}", err=True)


def _print_plan(steps: list[plan.Step], note: str) -> None:
    typer.echo(f"REM {note}")
    typer.echo(plan.format_plan(steps))


def install_daemon(
    home: HomeOption = None,
    python: Annotated[
        Path | None, typer.Option("--python", metavar="PATH", help="python.exe the service runs.")
    ] = None,
    nssm_exe: Annotated[
        Path | None,
        typer.Option("--nssm", metavar="PATH", help="nssm.exe to use (default: searched)."),
    ] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Register RiskManagerDaemon with NSSM so the trader account cannot stop it."""
    inputs = _inputs(home, python, nssm_exe)
    steps = plan.install_plan(inputs)
    if dry_run:
        _say_plan_is_windows("install", inputs)
        _print_plan(steps, "Install: every step runs in order; a failure rolls back the others.")
        return
    _preflight(nssm_exe)
    _refuse_writable_code(inputs)
    if control.winservice.service_state(inputs.service_name) is not None:
        _fail(
            f"{inputs.service_name} is already installed; run uninstall-daemon first",
            ExitCode.FAILED,
        )
    console.print("[bold]Risk Manager Daemon Installer[/]\n")
    console.print("This will:\n- Register Windows service (runs as LocalSystem)")
    console.print("- Configure auto-start on boot and restart on failure (10 s, 30 s, 60 s)")
    console.print(
        f"- Set permissions (unkillable by regular users) on the service and {inputs.home}"
    )
    if not _confirm("Proceed?", yes):
        _fail("aborted; nothing was changed", ExitCode.ABORTED)
    _run_with_progress(steps)
    console.print("\n[bold green]Installation complete![/]")
    if _confirm("Start daemon now?", yes, default=True):
        _start(Path(str(inputs.home)), as_json=False)
    console.print("\nNext steps:\n1. risk-admin set-password\n2. risk-admin config edit")


def uninstall_daemon(
    home: HomeOption = None,
    nssm_exe: Annotated[
        Path | None,
        typer.Option("--nssm", metavar="PATH", help="nssm.exe to use (default: searched)."),
    ] = None,
    delete_data: Annotated[
        bool, typer.Option("--delete-data", help="With --yes: also delete config and state.")
    ] = False,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Stop and unregister the service; asks before deleting config (with secrets) and state."""
    inputs = _inputs(home, None, nssm_exe)
    if dry_run:
        _say_plan_is_windows("uninstall", inputs)
        _print_plan(plan.uninstall_plan(inputs, delete_data), "Uninstall")
        return
    _preflight(nssm_exe)
    if control.winservice.service_state(inputs.service_name) is None:
        _fail(f"{inputs.service_name} is not installed", ExitCode.NOT_INSTALLED)
    console.print("This will:\n- Stop daemon\n- Unregister Windows service")
    console.print("- Optionally delete configuration and state files")
    if not _confirm("Proceed?", yes):
        _fail("aborted; nothing was changed", ExitCode.ABORTED)
    delete_config = delete_state = delete_data
    if not yes:
        delete_config = typer.confirm("Delete configuration files?", default=False)
        delete_state = typer.confirm("Delete state files?", default=False)
    steps = plan.uninstall_plan(
        inputs, delete_data, delete_config=delete_config, delete_state=delete_state
    )
    _run_with_progress(steps)
    kept = "" if delete_config and delete_state else " Configuration preserved."
    console.print(f"Service uninstalled.{kept}")


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
        _fail(f"{path}: {len(problems)} problem(s); nothing started", ExitCode.INVALID_CONFIG)


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


def _start(home: Path | None, *, as_json: bool, timeout: float = control.START_TIMEOUT) -> None:
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
        _fail(str(exc), _code_for(exc))
    if as_json:
        _emit_json({"started": not result.already_running, "pid": result.pid, "url": result.url})
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
    _start(home, as_json=as_json, timeout=timeout)


def stop(
    home: HomeOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = control.STOP_TIMEOUT,
) -> None:
    """Stop the daemon gracefully and wait until it has exited."""
    try:
        result = control.stop(home, timeout=timeout)
    except ControlError as exc:
        _fail(str(exc), _code_for(exc))
    if as_json:
        _emit_json({"stopped": True, "pid": result.pid, "exit_code": result.exit_code})
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
        _fail(f"no daemon home at {where}; check --home (`start` creates one)", ExitCode.NOT_FOUND)
    try:
        control.stop(home)
    except NotRunningError:
        pass
    except ControlError as exc:
        _fail(str(exc), _code_for(exc))
    _start(home, as_json=as_json, timeout=timeout)


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
        _emit_json(info.to_dict())
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


def register(app: typer.Typer) -> None:
    """Add the service commands to the admin CLI."""
    epilog = EXIT_CODES_HELP
    app.command("install-daemon", epilog=epilog)(install_daemon)
    app.command("uninstall-daemon", epilog=epilog)(uninstall_daemon)
    app.command("start", epilog=epilog)(start)
    app.command("stop", epilog=epilog)(stop)
    app.command("restart", epilog=epilog)(restart)
    app.command("status", epilog=epilog)(status)
