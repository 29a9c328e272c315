"""start / stop / status against a real background process speaking the daemon's file contract."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from risk_manager.paths import HomePaths
from risk_manager.service import control
from risk_manager.service.errors import NotRunningError, StartFailedError

FAKE = str(Path(__file__).with_name("fake_daemon.py"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX background process")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv(control.URL_ENV, raising=False)
    home = tmp_path / "home"
    yield home
    pid = control.read_pid(HomePaths(home))
    if pid is not None:  # never leave a daemon behind a failed test
        control.stop(home, timeout=5)


def fake(home: Path, *extra: str) -> list[str]:
    return [sys.executable, FAKE, str(home), *extra]


def test_start_waits_for_health_and_returns_the_pid(home: Path) -> None:
    result = control.start(home, command=fake(home), timeout=10)

    assert result.already_running is False
    assert result.pid == int((home / "state" / "daemon.pid").read_text())
    assert result.url == (home / "state" / "daemon.url").read_text()
    info = control.status(home)
    assert (info.running, info.healthy, info.pid) == (True, True, result.pid)
    assert info.health == {"status": "healthy"}
    # Detached: a session of its own, so the terminal's Ctrl+C or hangup cannot reach it.
    assert os.getsid(result.pid) == result.pid


def test_start_twice_reports_the_running_daemon(home: Path) -> None:
    first = control.start(home, command=fake(home), timeout=10)
    second = control.start(home, command=fake(home), timeout=10)

    assert second.already_running is True
    assert second.pid == first.pid


def test_stop_sends_sigterm_and_reports_the_exit(home: Path) -> None:
    started = control.start(home, command=fake(home), timeout=10)

    stopped = control.stop(home, timeout=10)

    assert stopped == control.StopResult(started.pid, 0)
    assert not (home / "state" / "daemon.pid").exists()
    info = control.status(home, url="http://127.0.0.1:9")  # port 9: nothing listens
    assert (info.running, info.pid, info.healthy) == (False, None, False)


def test_stop_when_not_running_raises(home: Path) -> None:
    with pytest.raises(NotRunningError, match="not running"):
        control.stop(home)


def test_start_reports_a_daemon_that_exits_during_startup(home: Path) -> None:
    with pytest.raises(StartFailedError, match="exited with code 3"):
        control.start(home, command=fake(home, "exit-now", "3"), timeout=10)
    assert "config invalid" in (home / "logs" / "daemon.out").read_text()


def test_start_clears_a_crashed_daemons_files(home: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state = home / "state"
    state.mkdir(parents=True)
    (state / "daemon.pid").write_text(dead.stdout.strip())
    (state / "daemon.url").write_text("http://127.0.0.1:9")

    result = control.start(home, command=fake(home), timeout=10)

    assert result.url != "http://127.0.0.1:9"
    assert result.pid != int(dead.stdout)


def test_read_pid_ignores_a_process_younger_than_the_pid_file(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.state_dir.mkdir()
    paths.pid_file.write_text(str(os.getpid()))
    assert control.read_pid(paths) == os.getpid()

    # Written long before this process started: a reused PID, not our daemon.
    old = time.time() - 10 * 365 * 86400
    os.utime(paths.pid_file, (old, old))
    assert control.read_pid(paths) is None


def test_resolve_url_prefers_explicit_then_env_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = HomePaths(tmp_path)
    monkeypatch.delenv(control.URL_ENV, raising=False)
    assert control.resolve_url(paths) == control.DEFAULT_URL
    paths.state_dir.mkdir()
    paths.url_file.write_text("http://127.0.0.1:6000\n")
    assert control.resolve_url(paths) == "http://127.0.0.1:6000"
    monkeypatch.setenv(control.URL_ENV, "http://127.0.0.1:7000/")
    assert control.resolve_url(paths) == "http://127.0.0.1:7000"
    assert control.resolve_url(paths, "http://127.0.0.1:5000") == "http://127.0.0.1:5000"
