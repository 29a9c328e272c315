"""The daemon as a Windows console process under Wine: start, console events, graceful stops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.windows.wineenv import winpath
from tests.windows.winprocess import (
    CTRL_LOGOFF_EVENT,
    ConsoleDaemon,
    WindowsPython,
    health,
    lock_out_and_hold,
    lockouts_and_positions,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.windows, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("console") / "home"
    write_config(home)
    return home


@pytest.fixture(scope="module")
def daemon(windows_python: WindowsPython, home: Path) -> Iterator[ConsoleDaemon]:
    daemon = ConsoleDaemon(windows_python, home).start()
    yield daemon
    daemon.kill()


def test_windows_only_modules_load_and_work(windows_python: WindowsPython) -> None:
    result = windows_python.script("win_probe.py")
    assert result.returncode == 0, result.stdout
    probe = json.loads(result.stdout.splitlines()[-1])
    assert probe["platform"] == "win32"
    assert probe["logoff_handler"] is True
    assert probe["msvcrt_lock"] is True
    assert probe["exclusive_bind"] is True
    assert probe["rss"] > 0


def test_starts_and_answers_health_as_a_windows_process(daemon: ConsoleDaemon) -> None:
    state = health(daemon.url)
    assert state is not None
    assert state["status"] == "healthy"
    assert state["pid"] == daemon.windows_pid  # a Windows PID, not the Linux one
    assert "Daemon started" in daemon.output()


def test_a_second_daemon_on_the_same_home_is_refused(
    windows_python: WindowsPython, daemon: ConsoleDaemon
) -> None:
    # msvcrt.locking on state/daemon.lock is what refuses it.
    result = windows_python.run("-m", "risk_manager", "run", "--home", winpath(daemon.home))
    assert result.returncode == 3, result.stdout
    assert "another daemon already uses" in result.stdout


def test_logoff_event_is_ignored(windows_python: WindowsPython, daemon: ConsoleDaemon) -> None:
    # The same injection ends a plain python.exe, so a survival below is the handler's doing.
    pid_file = daemon.home.parent / "plain.pid"
    plain = windows_python.popen(
        ["-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
         "time.sleep(120)", winpath(pid_file)],
        daemon.home.parent / "plain.log",
    )  # fmt: skip
    pid = wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "plain python.exe")
    assert windows_python.script("win_ctrl_event.py", pid, str(CTRL_LOGOFF_EVENT)).returncode == 0
    assert plain.wait(30) == 0  # the default handler's ExitProcess(0)

    delivered = windows_python.script(
        "win_ctrl_event.py", str(daemon.windows_pid), str(CTRL_LOGOFF_EVENT)
    )
    assert delivered.stdout.endswith("delivered"), delivered.stdout
    assert daemon.process is not None
    assert daemon.process.poll() is None
    assert health(daemon.url) is not None


def test_ctrl_c_stops_gracefully_and_state_persists(
    windows_python: WindowsPython, daemon: ConsoleDaemon
) -> None:
    lock_out_and_hold(daemon.url)
    before = lockouts_and_positions(daemon.url)
    assert before == (["daily_realized_loss"], {"MNQ": 2})

    daemon.ctrl_c()
    assert daemon.wait() == 0, daemon.output()
    output = daemon.output()
    assert "Received SIGINT" in output
    assert "Daemon stopping" in output
    assert "Daemon stopped cleanly" in output

    again = ConsoleDaemon(windows_python, daemon.home).start()
    try:
        state = health(again.url)
        assert state is not None
        assert state["previous_run"] == "clean"
        assert lockouts_and_positions(again.url) == before
    finally:
        again.kill()
