"""Admin CLI service commands: install-daemon and uninstall-daemon; `register` adds all of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path, PureWindowsPath
from typing import Annotated

import typer

from cli.exit_codes import ExitCode
from cli.service_common import (
    EXIT_CODES_HELP,
    SYSTEMD_HINT,
    HomeOption,
    YesOption,
    console,
    fail,
)
from cli.service_control import restart, start, start_daemon, status, stop
from risk_manager.paths import default_home
from risk_manager.service import aclcheck, control, nssm, plan, runner

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the exact commands and change nothing.")
]


def _confirm(question: str, yes: bool, *, default: bool = False) -> bool:
    if yes:
        return True
    return typer.confirm(question, default=default)


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
        fail(f"{exc}{hint}", ExitCode.USAGE)


def service_inputs(home: Path) -> plan.ServiceInputs:
    """The plan inputs of an installed service with this home (for `doctor`)."""
    return _inputs(home, None, None)


def _preflight(nssm_exe: Path | None) -> None:
    if sys.platform != "win32":
        fail(SYSTEMD_HINT, ExitCode.WINDOWS_ONLY)
    if not nssm.is_admin():
        fail("run this from an elevated (Run as administrator) prompt", ExitCode.NOT_ELEVATED)
    try:
        nssm.find_nssm(nssm_exe)
    except nssm.NssmNotFoundError as exc:
        fail(str(exc), ExitCode.NSSM_NOT_FOUND)


def _refuse_writable_code(inputs: plan.ServiceInputs) -> None:
    """python.exe, its import path and nssm.exe must be writable by administrators only."""
    try:
        found = aclcheck.problems(inputs.python, inputs.nssm)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        fail(f"cannot check who may change {inputs.python}: {exc}", ExitCode.FAILED)
    if found:
        fail(aclcheck.REFUSAL.format("; ".join(found)), ExitCode.FAILED)


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
            fail(_failure_report(exc), ExitCode.FAILED)


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
        fail(
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
        fail("aborted; nothing was changed", ExitCode.ABORTED)
    _run_with_progress(steps)
    console.print("\n[bold green]Installation complete![/]")
    if _confirm("Start daemon now?", yes, default=True):
        start_daemon(Path(str(inputs.home)), as_json=False)
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
        fail(f"{inputs.service_name} is not installed", ExitCode.NOT_INSTALLED)
    console.print("This will:\n- Stop daemon\n- Unregister Windows service")
    console.print("- Optionally delete configuration and state files")
    if not _confirm("Proceed?", yes):
        fail("aborted; nothing was changed", ExitCode.ABORTED)
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


def register(app: typer.Typer) -> None:
    """Add the service commands to the admin CLI."""
    epilog = EXIT_CODES_HELP
    app.command("install-daemon", epilog=epilog)(install_daemon)
    app.command("uninstall-daemon", epilog=epilog)(uninstall_daemon)
    app.command("start", epilog=epilog)(start)
    app.command("stop", epilog=epilog)(stop)
    app.command("restart", epilog=epilog)(restart)
    app.command("status", epilog=epilog)(status)
