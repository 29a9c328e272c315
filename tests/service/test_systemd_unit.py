"""The systemd unit parses cleanly (systemd-analyze verify) and keeps its supervision settings."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "risk-manager.service"
INSTALLED_PYTHON = "/opt/risk-manager/.venv/bin/python"


def unit_settings() -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return {section: dict(parser[section]) for section in parser.sections()}


def test_unit_supervises_the_daemon_as_the_brief_asks() -> None:
    service = unit_settings()["Service"]

    assert service["ExecStart"] == (
        f"{INSTALLED_PYTHON} -I -u -m risk_manager run --home /var/lib/risk-manager"
    )
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "RestartSec": "10",
        "TimeoutStopSec": "30",
        "KillSignal": "SIGTERM",
        "User": "risk-manager",
        "Environment": "RISK_MANAGER_HOME=/var/lib/risk-manager",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "NoNewPrivileges": "true",
        "PrivateTmp": "true",
        "UMask": "0077",
        "ProtectProc": "invisible",
        "PrivateUsers": "true",
        "RemoveIPC": "true",
        "SystemCallFilter": "~@privileged @resources",  # the last line; @system-service first
        "SystemCallErrorNumber": "EPERM",
    }
    assert {key: service[key] for key in expected} == expected
    # A unit that gives up after a burst would stop enforcing until someone notices.
    assert unit_settings()["Unit"]["StartLimitIntervalSec"] == "0"
    assert "StartLimitBurst" not in unit_settings()["Unit"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_reports_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_for_analysis(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to systemd: any output is a defect.
    assert result.stderr.strip() == ""


def unit_for_analysis(tmp_path: Path) -> Path:
    # systemd-analyze insists that ExecStart exists; point it at this interpreter only.
    unit = tmp_path / "risk-manager.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_PYTHON, sys.executable))
    return unit


def exposure(unit: Path) -> float:
    """`systemd-analyze security`'s overall exposure level of a unit file (0 best, 10 worst)."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_security_scores_at_most_1_5(tmp_path: Path) -> None:
    assert exposure(unit_for_analysis(tmp_path)) <= 1.5


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_ip_allowlist_drop_in_is_valid_and_tightens_the_score(tmp_path: Path) -> None:
    unit = unit_for_analysis(tmp_path)
    plain = exposure(unit)
    # A drop-in's [Service] lines apply as if appended to the unit's own section.
    unit.write_text(unit.read_text() + "\n" + (UNIT.parent / "ip-allowlist.conf").read_text())

    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    assert (verify.returncode, verify.stderr.strip()) == (0, "")
    assert exposure(unit) < plain


def test_exec_start_ignores_a_risk_manager_package_planted_in_the_working_directory(
    tmp_path: Path,
) -> None:
    """ExecStart runs with the home as working directory; -I keeps it off the import path."""
    planted = tmp_path / "risk_manager"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "__main__.py").write_text("raise SystemExit('planted package imported')")
    service = unit_settings()["Service"]
    argv = service["ExecStart"].split()
    argv = [sys.executable, *argv[1 : argv.index("run")], "--help"]

    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    assert service["WorkingDirectory"] == "/var/lib/risk-manager"
    assert "planted" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
