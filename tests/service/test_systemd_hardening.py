"""The daemon keeps enforcing under the systemd unit's hardening, rebuilt without systemd.

This machine (like CI's container) has no systemd as PID 1, so `systemd-run -p ...` cannot run
the unit. The settings are rebuilt from the unit file instead, with the kernel features systemd
itself uses, and the real daemon runs under them:

- SystemCallFilter= / SystemCallErrorNumber= / MemoryDenyWriteExecute=: a seccomp filter built
  by sandbox_exec.py from the unit and this machine's `systemd-analyze syscall-filter` groups;
- ProtectProc=invisible: /proc remounted with hidepid=invisible in a private mount namespace
  (which is also what PrivateMounts= gives);
- PrivateUsers=: a user namespace mapping only the daemon's own user;
- UMask=0077: the process umask.

RemoveIPC= only acts when the service stops (the daemon creates no SysV IPC objects), and
ProcSubset=pid is left out of the unit because psutil cannot open a process without /proc/stat;
`systemd-analyze security` scores the unit itself (test_systemd_unit.py).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess, write_config

HERE = Path(__file__).resolve().parent
UNIT = HERE.parents[1] / "deploy" / "systemd" / "risk-manager.service"
SYSTEM_PYTHON = "/usr/bin/python3"
PROBE = """
import mmap, os, sys
open(sys.argv[1], "w").close()
for name, call in [("chown", lambda: os.chown(sys.argv[1], 1, 1)),
                   ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, 0, 5)),
                   ("wx-mmap", lambda: mmap.mmap(-1, 4096, prot=7))]:
    try:
        call()
        print(name, "allowed")
    except OSError as exc:
        print(name, "refused", exc.errno)
"""


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Linux only"
    if os.geteuid() != 0:
        return "needs root (private mount namespace for /proc)"
    for tool in ("unshare", "systemd-analyze"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import seccomp"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return "the system python3 has no seccomp module (apt-get install python3-seccomp)"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


def sandbox(umask: str = "077") -> tuple[str, ...]:
    """The command prefix: namespaces and /proc first, then the seccomp filter, then exec."""
    return (
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        f'mount -t proc -o hidepid=invisible proc /proc && umask {umask} && exec "$@"', "sh",
        "unshare", "--user", "--map-current-user",
        SYSTEM_PYTHON, str(HERE / "sandbox_exec.py"), str(UNIT),
    )  # fmt: skip


def test_the_rebuilt_filter_refuses_what_the_unit_forbids(tmp_path: Path) -> None:
    """Control: without this the daemon test below would prove nothing."""
    outside = subprocess.run(
        [SYSTEM_PYTHON, "-c", PROBE, str(tmp_path / "outside")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    inside = subprocess.run(
        [*sandbox(), SYSTEM_PYTHON, "-c", PROBE, str(tmp_path / "inside")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert outside.stdout.split("\n")[:3] == [
        "chown allowed",
        "setpriority allowed",
        "wx-mmap allowed",
    ]
    assert inside.stdout.split("\n")[:3] == [
        "chown refused 1",
        "setpriority refused 1",
        "wx-mmap refused 1",
    ]


def test_daemon_enforces_and_stops_cleanly_under_the_unit_sandbox(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, "daily_realized_loss.limit = 100")
    daemon = DaemonProcess(home, prefix=sandbox()).start()
    try:
        daemon.price(21000.00)
        daemon.order("buy", 2)
        daemon.price(20970.00)
        daemon.order("sell", 2)  # -$121.48 against a $100 limit: a lockout
        lockouts = daemon.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
        health = daemon.get("/api/v1/health")
        assert daemon.proc is not None
        status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    finally:
        code = daemon.stop()
        daemon.ensure_stopped()

    assert "Seccomp:\t2" in status  # the process we talked to ran under the filter
    assert [x["rule"] for x in lockouts] == ["daily_realized_loss"]
    assert health["status"] == "healthy", health
    assert health["memory_usage_mb"] > 0  # psutil works with other processes hidden
    assert code == 0, daemon.output()
    modes = {
        p.relative_to(home).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in home.rglob("*")
    }
    assert modes["state"] == 0o700
    assert all(mode == 0o644 for path, mode in modes.items() if path.endswith(".log"))
    assert all(mode & 0o077 == 0 for path, mode in modes.items() if path.startswith("state/"))
