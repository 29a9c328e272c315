"""The Linux equivalent of the Windows plan, with real users: the trader cannot get around it.

A service user runs the daemon from a root-owned install; the home is the service user's and
locked like the Windows ACLs (config/, state/, secrets/ 0700; logs/ readable by everyone). A
trader user then tries what a trader on a standard account could: signal the daemon, read or
write its files, change the installed code, use the admin API without the password.
Needs root to create the two users (CI runs as root); they are removed afterwards.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from risk_manager.auth.passwords import hash_password, save_secret
from tests.daemon_process import DaemonProcess, write_config
from tests.service.linux_install import copy_runtime, make_world_readable, shared_interpreter

PASSWORD = "Correct-Horse-42"
TAG = uuid.uuid4().hex[:8]
SERVICE, TRADER = f"rmsvc{TAG}", f"rmtrd{TAG}"
# As the trader: try each thing, print one JSON line {what: errno or 0} (0 = it worked).
TRY_AS_TRADER = """
import errno, json, os, signal, sys
home, site, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
def attempt(action):
    try:
        action()
        return 0
    except OSError as exc:
        return exc.errno
def write(path):
    with open(path, "a") as handle:
        handle.write("x")
def read_any(folder):
    names = os.listdir(folder)
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            handle.read(1)
state = os.path.join(home, "state", "risk_manager.db")
print(json.dumps({
    "kill -9": attempt(lambda: os.kill(pid, signal.SIGKILL)),
    "kill -TERM": attempt(lambda: os.kill(pid, signal.SIGTERM)),
    "read config": attempt(lambda: open(os.path.join(home, "config", "risk_manager.toml")).read()),
    "list config": attempt(lambda: os.listdir(os.path.join(home, "config"))),
    "read state": attempt(lambda: open(state, "rb").read(1)),
    "read secrets": attempt(lambda: read_any(os.path.join(home, "secrets"))),
    "read admin.json": attempt(lambda: open(os.path.join(home, "secrets", "admin.json")).read()),
    "write home": attempt(lambda: write(os.path.join(home, "risk_manager.py"))),
    "write config": attempt(lambda: write(os.path.join(home, "config", "risk_manager.toml"))),
    "write logs dir": attempt(lambda: write(os.path.join(home, "logs", "planted.log"))),
    "append system.log": attempt(lambda: write(os.path.join(home, "logs", "system.log"))),
    "write auth-reset": attempt(lambda: write(os.path.join(home, "secrets", "auth-reset"))),
    "write package": attempt(lambda: write(os.path.join(site, "risk_manager", "evil.py"))),
    "replace module": attempt(lambda: write(os.path.join(site, "risk_manager", "daemon.py"))),
    "write site": attempt(lambda: write(os.path.join(site, "sitecustomize.py"))),
    "read system.log": attempt(lambda: open(os.path.join(home, "logs", "system.log")).read()),
}))
"""


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Linux only"
    if os.geteuid() != 0:
        return "needs root to create a service user and a trader user"
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if shared_interpreter() is None:
        return "no Python other users can run with this environment's version"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


@dataclass
class Install:
    base: Path
    site: Path
    home: Path
    python: str
    service: pwd.struct_passwd
    trader: pwd.struct_passwd

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("RISK_MANAGER_", "PY"))}
        return {**clean, "PYTHONPATH": str(self.site), "PYTHONNOUSERSITE": "1", "COLUMNS": "200"}

    def as_trader(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, *args], user=self.trader.pw_uid, group=self.trader.pw_gid,
            extra_groups=[], env=self.env(), cwd=self.base, capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=60, check=False,
        )  # fmt: skip


def _add_user(name: str) -> pwd.struct_passwd:
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True,
    )  # fmt: skip
    return pwd.getpwnam(name)


def _lock_home(home: Path, owner: pwd.struct_passwd) -> None:
    """The Windows plan's ACLs in POSIX modes: only logs/ is open to other users."""
    modes = {home: 0o711, home / "config": 0o700, home / "state": 0o700,
             home / "secrets": 0o700, home / "logs": 0o755}  # fmt: skip
    for folder, mode in modes.items():
        folder.mkdir(exist_ok=True)
        for path in [folder, *(p for p in folder.iterdir() if p.is_file())]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(mode if path.is_dir() else 0o600)


@pytest.fixture(scope="module")
def install() -> Iterator[Install]:
    base = Path(tempfile.mkdtemp(prefix="rm-linux-users-"))
    created: list[str] = []
    try:
        service, trader = _add_user(SERVICE), None
        created.append(SERVICE)
        trader = _add_user(TRADER)
        created.append(TRADER)
        site = base / "site"
        copy_runtime(site)
        make_world_readable(base)
        home = base / "home"
        write_config(home, "daily_realized_loss.limit = 100")
        save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD, iterations=4096))
        _lock_home(home, service)
        python = shared_interpreter()
        assert python is not None
        yield Install(base, site, home, python, service, trader)
    finally:
        for name in created:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(install: Install) -> Iterator[DaemonProcess]:
    as_service = (
        "setpriv", f"--reuid={install.service.pw_uid}", f"--regid={install.service.pw_gid}",
        "--clear-groups", "--", "env", f"PYTHONPATH={install.site}", "PYTHONNOUSERSITE=1",
        f"HOME={install.home}", "sh", "-c", 'umask 077 && exec "$@"', "sh",
    )  # fmt: skip
    process = DaemonProcess(install.home, prefix=as_service, python=install.python)
    process.start(timeout=60.0)
    yield process
    try:
        assert process.stop() == 0, process.output()
    finally:
        process.ensure_stopped()


def test_the_daemon_runs_as_the_service_user_from_the_shared_install(
    install: Install, daemon: DaemonProcess
) -> None:
    assert daemon.proc is not None
    status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]

    exe = os.readlink(f"/proc/{daemon.proc.pid}/exe")
    environ = Path(f"/proc/{daemon.proc.pid}/environ").read_bytes().split(b"\0")

    assert set(uids) == {str(install.service.pw_uid)}
    assert exe == os.path.realpath(install.python)
    assert f"PYTHONPATH={install.site}".encode() in environ
    assert daemon.get("/api/v1/health")["status"] == "healthy"


def test_trader_cannot_signal_read_or_write_anything_but_the_logs(
    install: Install, daemon: DaemonProcess
) -> None:
    daemon.price(21000.00)  # some state and log lines first
    assert daemon.proc is not None

    done = install.as_trader(
        "-c", TRY_AS_TRADER, str(install.home), str(install.site), str(daemon.proc.pid)
    )
    results = json.loads(done.stdout)

    denied = {errno.EPERM: ["kill -9", "kill -TERM"]}
    denied[errno.EACCES] = [
        "read config", "list config", "read state", "read secrets", "read admin.json",
        "write home", "write config", "write logs dir", "append system.log", "write auth-reset",
        "write package", "replace module", "write site",
    ]  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {what: results[what] for what in denied[errno.EPERM]} == dict.fromkeys(
        denied[errno.EPERM], errno.EPERM
    )
    assert {what: results[what] for what in denied[errno.EACCES]} == dict.fromkeys(
        denied[errno.EACCES], errno.EACCES
    )
    assert results["read system.log"] == 0  # logs/ is the one part open to the trader
    assert daemon.get("/api/v1/health")["status"] == "healthy"  # still up after kill -9


def test_trader_cli_status_works_over_http_and_admin_refuses_without_password(
    install: Install, daemon: DaemonProcess
) -> None:
    status = install.as_trader("-m", "cli.trader", "status", "--url", daemon.url, "--json")
    admin = install.as_trader("-m", "cli.admin", "reset-day", "--yes", "--url", daemon.url)
    reset = install.as_trader("-m", "cli.admin", "auth-reset", "--home", str(install.home))
    raw = install.as_trader(
        "-c",
        "import httpx, sys; r = httpx.get(sys.argv[1] + '/api/v1/admin/config'); "
        "print(r.status_code, r.json()['error']['code'])",
        daemon.url,
    )

    assert status.returncode == 0, status.stderr
    assert "SIM-1" in status.stdout
    assert admin.returncode == 4, admin.stdout + admin.stderr
    assert "no admin password" in admin.stderr
    assert reset.returncode != 0
    assert not (install.home / "secrets" / "auth-reset").exists()
    assert raw.stdout.split() == ["401", "unauthorized"], raw.stderr
