"""Start, stop and query the Windows service through sc.exe and psutil (Windows only)."""

from __future__ import annotations

import subprocess
import time

import psutil

from risk_manager.service.errors import (
    AccessDeniedError,
    ControlError,
    ControlTimeoutError,
    NotInstalledError,
    NotRunningError,
)

# Win32 error codes sc.exe returns as its exit status.
ERROR_ACCESS_DENIED = 5
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_NOT_ACTIVE = 1062


def service_state(name: str) -> str | None:
    """'running', 'stopped', 'start_pending', … or None when the service is not installed."""
    try:
        return str(psutil.win_service_get(name).status())  # type: ignore[attr-defined]
    except psutil.Error:
        return None


def service_pid(name: str) -> int | None:
    """PID of the service process (nssm.exe, the daemon's parent) or None."""
    try:
        pid = psutil.win_service_get(name).pid()  # type: ignore[attr-defined]
    except psutil.Error:
        return None
    return int(pid) if pid else None


def _sc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sc", *args], capture_output=True, text=True, errors="replace", check=False
    )


def _raise_for(result: subprocess.CompletedProcess[str], name: str, verb: str) -> None:
    code = result.returncode
    if code == ERROR_ACCESS_DENIED:
        raise AccessDeniedError(f"access denied: only an administrator can {verb} {name}")
    if code == ERROR_SERVICE_DOES_NOT_EXIST:
        raise NotInstalledError(f"service {name} is not installed; run install-daemon")
    if code == ERROR_SERVICE_NOT_ACTIVE:
        raise NotRunningError(f"service {name} is not running")
    last_line = (result.stdout.strip().splitlines() or ["(no output)"])[-1].strip()
    raise ControlError(f"sc {verb} {name} failed with code {code}: {last_line}")


def sc_start(name: str) -> bool:
    """Ask the SCM to start the service; False when it was already running."""
    result = _sc("start", name)
    if result.returncode == 0:
        return True
    if result.returncode == ERROR_SERVICE_ALREADY_RUNNING:
        return False
    _raise_for(result, name, "start")
    return False  # unreachable: _raise_for always raises


def sc_stop(name: str, timeout: float) -> None:
    """Ask the SCM to stop the service and wait until it reports STOPPED."""
    result = _sc("stop", name)
    if result.returncode != 0:
        _raise_for(result, name, "stop")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service_state(name) in ("stopped", None):
            return
        time.sleep(0.25)
    raise ControlTimeoutError(f"service {name} did not stop within {timeout:.0f} s")
