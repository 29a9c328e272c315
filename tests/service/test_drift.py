"""`risk-admin doctor` on Windows: live NSSM settings against the plan, as data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path, PureWindowsPath

import pytest

from cli import admin_diagnostics
from risk_manager.service import drift, plan, winservice

INPUTS = plan.ServiceInputs(
    home=PureWindowsPath(r"C:\ProgramData\RiskManager"),
    python=PureWindowsPath(r"C:\Program Files\Python313\python.exe"),
)


class FakeNssm:
    """`nssm get` answering from a dict, in nssm's own UTF-16-ish CRLF shape."""

    def __init__(self, values: dict[tuple[str, ...], str]) -> None:
        self.values = values
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(tuple(argv))
        key = tuple(argv[3:])
        if key not in self.values:
            return subprocess.CompletedProcess(argv, 3, "", "")
        return subprocess.CompletedProcess(
            argv, 0, self.values[key].replace("\n", "\r\n") + "\r\n", ""
        )


def planned() -> dict[tuple[str, ...], str]:
    return {s.name: s.expected for s in drift.expected_settings(INPUTS)}


def test_expected_settings_cover_the_plan() -> None:
    settings = planned()
    assert settings[("Application",)] == str(INPUTS.python)
    assert (
        settings[("AppParameters",)]
        == r"-I -u -m risk_manager run --home C:\ProgramData\RiskManager"
    )
    assert settings[("AppExit", "Default")] == "Exit"
    assert settings[("ObjectName",)] == "LocalSystem"
    assert settings[("AppStopMethodSkip",)] == "6"
    assert settings[("DependOnService",)] == "Tcpip\nDnscache"
    assert len(settings) == 20


def test_no_drift_when_nssm_reports_the_plan() -> None:
    fake = FakeNssm(planned())
    assert drift.service_drift(INPUTS, fake) == []
    assert fake.calls[0] == (str(INPUTS.installed_nssm), "get", "RiskManagerDaemon", "Application")


def test_gui_edits_are_named() -> None:
    live = planned() | {
        ("AppExit", "Default"): "Restart",
        ("ObjectName",): r".\trader",
        ("AppStopMethodSkip",): "0",
    }
    del live[("AppStopMethodConsole",)]
    found = [d.describe() for d in drift.service_drift(INPUTS, FakeNssm(live))]
    assert found == [
        "ObjectName is '.\\\\trader', the install plan sets 'LocalSystem'",
        "AppStopMethodSkip is '0', the install plan sets '6'",
        "AppStopMethodConsole is unreadable, the install plan sets '30000'",
        "AppExit Default is 'Restart', the install plan sets 'Exit'",
    ]


def test_run_nssm_reads_utf16_output_from_a_real_process() -> None:
    script = "import sys; sys.stdout.buffer.write('LocalSystem\\r\\n'.encode('utf-16-le'))"
    result = drift.run_nssm([sys.executable, "-c", script])
    assert (result.returncode, drift.normalize(result.stdout)) == (0, "LocalSystem")


def test_a_process_that_never_exits_is_killed_and_named() -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(drift.NssmUnansweredError, match=r"-c import time.* within 0.5 s"):
        drift.run_nssm(argv, timeout=0.5)


def test_doctor_reports_an_unanswered_nssm_as_a_failed_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unanswered(inputs: plan.ServiceInputs) -> list[drift.Drift]:
        raise drift.NssmUnansweredError("`get RiskManagerDaemon Start` did not answer within 10 s")

    monkeypatch.setattr(winservice, "service_state", lambda name: "running")
    monkeypatch.setattr(drift, "service_drift", unanswered)
    check = admin_diagnostics._service_settings_check(Path(r"D:\Risk"))
    assert check["check"] == "service settings"
    assert check["ok"] is False
    assert check["detail"] == (
        "could not read them: `get RiskManagerDaemon Start` did not answer within 10 s"
    )
