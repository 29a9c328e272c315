"""deploy/nssm/*.ps1 run the plan through risk-admin, so they cannot drift from it (no pwsh here).

The scripts contain no nssm / sc / icacls command of their own: each builds one command line,
`python.exe -I -m cli.admin install-daemon|uninstall-daemon OPTIONS`, from an absolute -Python.
These tests hold every option they pass against the real CLI, and every command the plan runs
against the scripts (none may appear there).
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

import pytest
import typer
from typer.testing import CliRunner

from cli import service
from risk_manager.service import plan

NSSM_DIR = Path(__file__).resolve().parents[2] / "deploy" / "nssm"
SCRIPTS = {name: (NSSM_DIR / f"{name}.ps1").read_text() for name in ("install", "uninstall")}
COMMON = (NSSM_DIR / "common.ps1").read_text()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    service.register(app)
    return app


def passed_options(script: str) -> set[str]:
    return set(re.findall(r"'(--[a-z-]+)'", script))


@pytest.mark.parametrize("name", ["install", "uninstall"])
def test_script_runs_the_cli_command_with_options_it_has(app: typer.Typer, name: str) -> None:
    script = SCRIPTS[name]
    assert script.startswith("#Requires -RunAsAdministrator")
    assert f"$arguments = @('{name}-daemon'" in script
    assert "Invoke-RiskAdmin $pythonExe $arguments" in script
    help_text = CliRunner().invoke(app, [f"{name}-daemon", "--help"], terminal_width=200).output
    options = passed_options(script)
    assert "--home" in options
    assert "--dry-run" in options
    for option in options:
        assert option in help_text, option


def test_cli_is_run_isolated_from_an_absolute_python() -> None:
    assert "$all = @('-I', '-m', 'cli.admin') + $Arguments" in COMMON
    for script in SCRIPTS.values():
        assert "[Parameter(Mandatory = $true)][string]$Python" in script
        assert "$pythonExe = Resolve-AbsoluteExe $Python 'python.exe'" in script
        # Never the first python.exe on PATH (possibly the Store alias), never a search.
        assert "Get-Command" not in script
    assert "IsPathRooted" in COMMON
    assert "Get-Command" not in COMMON


def code_lines(text: str) -> str:
    """The script without its comment-based help and comments."""
    text = re.sub(r"<#.*?#>", "", text, flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_no_plan_command_is_written_out_in_the_scripts() -> None:
    inputs = plan.ServiceInputs(home=PureWindowsPath(r"C:\RM"), nssm=PureWindowsPath(r"C:\n.exe"))
    code = "\n".join(code_lines(text) for text in [*SCRIPTS.values(), COMMON]).lower()
    code = re.sub(r"'[^']*'", "''", code)  # labels such as 'nssm.exe' in error messages
    programs = {
        PureWindowsPath(step.argv[0]).name.lower()
        for step in [*plan.install_plan(inputs), *plan.uninstall_plan(inputs, delete_data=True)]
    }
    assert programs == {"python.exe", "icacls", "nssm.exe", "sc", "reg", "cmd"}
    for program in programs - {"python.exe"}:
        assert not re.search(rf"\b{re.escape(program)}(\.exe)?\b", code), program
