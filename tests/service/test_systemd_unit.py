"""The systemd unit parses cleanly (systemd-analyze verify) and keeps its supervision settings."""

from __future__ import annotations

import configparser
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
        f"{INSTALLED_PYTHON} -m risk_manager run --home /var/lib/risk-manager"
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
        "Environment": "PYTHONUNBUFFERED=1",  # configparser keeps the last Environment line
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "NoNewPrivileges": "true",
        "PrivateTmp": "true",
    }
    assert {key: service[key] for key in expected} == expected
    assert "RISK_MANAGER_HOME=/var/lib/risk-manager" in UNIT.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_reports_nothing(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; point it at this interpreter, change nothing else.
    unit = tmp_path / "risk-manager.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_PYTHON, sys.executable))

    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to systemd: any output is a defect.
    assert result.stderr.strip() == ""
