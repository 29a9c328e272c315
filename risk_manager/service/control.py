"""Start, stop, restart and query the daemon: the Windows service, or a background process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from risk_manager.paths import HomePaths, default_home
from risk_manager.service import winservice
from risk_manager.service.errors import (
    AccessDeniedError,
    ApiUnavailableError,
    ControlTimeoutError,
    NotRunningError,
    StartFailedError,
)
from risk_manager.service.plan import SERVICE_NAME

URL_ENV = "RISK_MANAGER_URL"
DEFAULT_URL = "http://127.0.0.1:5555"
HEALTH_PATH = "/api/v1/health"
START_TIMEOUT = 30.0
# NSSM waits 30 s for the Ctrl+C stop before terminating; leave it room.
STOP_TIMEOUT = 40.0

# Processes this interpreter launched, so stop() can reap them and report their exit code.
_launched: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True, slots=True)
class StartResult:
    pid: int | None
    url: str
    already_running: bool


@dataclass(frozen=True, slots=True)
class StopResult:
    pid: int | None
    exit_code: int | None


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    running: bool
    pid: int | None
    url: str
    healthy: bool
    health: dict[str, Any] | None
    service_state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:  # missing, or unreadable for the trader account on Windows
        return None


def read_pid(paths: HomePaths) -> int | None:
    """The PID in state/daemon.pid when it names a live process that wrote it, else None."""
    text = _read_text(paths.pid_file)
    if text is None or not text.isdigit():
        return None
    pid = int(text)
    try:
        process = psutil.Process(pid)
        written = paths.pid_file.stat().st_mtime
        # A process started after the PID file was written cannot be its author: PID reuse.
        if process.create_time() > written + 1.0 or process.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.Error, OSError):
        return None
    return pid


def configured_url(paths: HomePaths) -> str | None:
    """http://host:port from the home's config file, when it names a fixed port."""
    try:
        with paths.config_file.open("rb") as handle:
            daemon = tomllib.load(handle).get("daemon", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    port = daemon.get("port") if isinstance(daemon, dict) else None
    host = daemon.get("host", "127.0.0.1") if isinstance(daemon, dict) else None
    if type(port) is not int or not 0 < port < 65536 or not isinstance(host, str):
        return None  # port 0 (a free port, only daemon.url knows it) or invalid
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def url_candidates(paths: HomePaths, url: str | None = None) -> list[tuple[str, str]]:
    """Where the API base URL may come from, in order, as (source, URL): explicit,
    $RISK_MANAGER_URL, the running daemon's state/daemon.url, the port in the home's config,
    the default. Empty sources and repeated URLs are left out."""
    env = os.environ.get(URL_ENV)
    sources = (
        (URL_ENV if url is not None and url == env else "--url", url),
        (URL_ENV, env),
        (str(paths.url_file), _read_text(paths.url_file)),
        (f"port in {paths.config_file}", configured_url(paths)),
        ("default", DEFAULT_URL),
    )
    found: list[tuple[str, str]] = []
    for source, value in sources:
        value = (value or "").strip()
        if not value.endswith("://"):  # a bare "http://" is reported as such, not as "http:"
            value = value.rstrip("/")
        if value and value not in {seen for _, seen in found}:
            found.append((source, value))
    return found


def locate_url(paths: HomePaths, url: str | None = None) -> tuple[str, str]:
    """The API base URL the CLIs use and where it came from (see url_candidates)."""
    source, found = url_candidates(paths, url)[0]
    return found, source


def resolve_url(paths: HomePaths, url: str | None = None) -> str:
    """The API base URL (see locate_url)."""
    return locate_url(paths, url)[0]


def check_health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The health payload when GET /api/v1/health answers 200, else None."""
    try:
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url + HEALTH_PATH)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    data = body.get("data", body) if isinstance(body, dict) else body
    return data if isinstance(data, dict) else {"value": data}


def _wait_ready(paths: HomePaths, timeout: float, exited: Callable[[], int | None]) -> StartResult:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = exited()
        if code is not None:
            raise StartFailedError(
                f"daemon exited with code {code} during startup; see {paths.logs_dir}"
            )
        # The PID file before the URL file: a daemon that took its port writes the URL first.
        pid = read_pid(paths)
        url = _read_text(paths.url_file)
        if url is not None and check_health(url.rstrip("/"), timeout=1.0) is not None:
            return StartResult(pid or read_pid(paths), url.rstrip("/"), already_running=False)
        if pid is not None and url is None:
            # Started and enforcing, but without its API: the port is taken by someone else.
            where = configured_url(paths) or DEFAULT_URL
            raise ApiUnavailableError(
                f"the daemon runs (PID {pid}) and enforces the rules, but its API cannot listen "
                f"at {where} (the port is taken); it retries the port by itself. Free the port "
                "or set another [daemon] port, then run `risk-admin restart`"
            )
        time.sleep(0.1)
    raise ControlTimeoutError(
        f"daemon not ready after {timeout:.0f} s (no {paths.url_file.name} or no health answer); "
        f"see {paths.logs_dir}"
    )


def daemon_command(home: Path, python: str | None = None) -> list[str]:
    """argv that runs the daemon in the foreground."""
    return [python or sys.executable, "-m", "risk_manager", "run", "--home", str(home)]


def start(
    home: Path | None = None,
    *,
    timeout: float = START_TIMEOUT,
    command: Sequence[str] | None = None,
    service_name: str = SERVICE_NAME,
) -> StartResult:
    """Start the daemon and wait until its health route answers."""
    paths = HomePaths(home or default_home())
    if sys.platform == "win32":
        if not winservice.sc_start(service_name):
            return StartResult(read_pid(paths), resolve_url(paths), already_running=True)
        return _wait_ready(paths, timeout, lambda: None)
    pid = read_pid(paths)
    if pid is not None:
        return StartResult(pid, resolve_url(paths), already_running=True)
    # No live daemon owns these files: they are a crash's leftovers and would fool the wait.
    paths.pid_file.unlink(missing_ok=True)
    paths.url_file.unlink(missing_ok=True)
    paths.logs_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RISK_MANAGER_HOME": str(paths.home)}
    with (paths.logs_dir / "daemon.out").open("ab") as out:
        process = subprocess.Popen(
            list(command) if command else daemon_command(paths.home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=paths.home,
            env=env,
            start_new_session=True,  # detached: a Ctrl+C or hangup of this terminal spares it
        )
    _launched[process.pid] = process
    result = _wait_ready(paths, timeout, process.poll)
    return StartResult(result.pid or process.pid, result.url, already_running=False)


def stop(
    home: Path | None = None, *, timeout: float = STOP_TIMEOUT, service_name: str = SERVICE_NAME
) -> StopResult:
    """Stop the daemon gracefully (SIGTERM, or the service stop) and wait for it to exit."""
    paths = HomePaths(home or default_home())
    pid = read_pid(paths)
    if sys.platform == "win32":
        winservice.sc_stop(service_name, timeout)
        return StopResult(pid, None)
    if pid is None:
        raise NotRunningError(f"daemon is not running (no live PID in {paths.pid_file})")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return StopResult(pid, None)
    except PermissionError as exc:
        raise AccessDeniedError(f"not allowed to signal PID {pid}: {exc.strerror}") from exc
    try:
        if pid in _launched:
            return StopResult(pid, _launched.pop(pid).wait(timeout))
        return StopResult(pid, psutil.Process(pid).wait(timeout))
    except psutil.NoSuchProcess:
        return StopResult(pid, None)
    except (psutil.TimeoutExpired, subprocess.TimeoutExpired) as exc:
        raise ControlTimeoutError(f"PID {pid} still running {timeout:.0f} s after SIGTERM") from exc


def restart(
    home: Path | None = None,
    *,
    timeout: float = START_TIMEOUT,
    command: Sequence[str] | None = None,
    service_name: str = SERVICE_NAME,
) -> StartResult:
    """Stop the daemon if it runs, then start it."""
    with contextlib.suppress(NotRunningError):
        stop(home, service_name=service_name)
    return start(home, timeout=timeout, command=command, service_name=service_name)


def status(
    home: Path | None = None, *, url: str | None = None, service_name: str = SERVICE_NAME
) -> DaemonStatus:
    """Whether the daemon runs, its PID, URL and health payload."""
    paths = HomePaths(home or default_home())
    pid = read_pid(paths)
    base = resolve_url(paths, url)
    health = check_health(base)
    state = winservice.service_state(service_name) if sys.platform == "win32" else None
    if sys.platform == "win32" and pid is None:
        pid = winservice.service_pid(service_name)
    running = pid is not None or health is not None or state == "running"
    return DaemonStatus(running, pid, base, health is not None, health, state)
