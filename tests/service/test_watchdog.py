"""The loop watchdog kills a stalled process; sd_notify reaches a real AF_UNIX socket."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from risk_manager.service.watchdog import LoopWatchdog, sd_notify

REPO = Path(__file__).resolve().parents[2]

LOOP_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from risk_manager.service.watchdog import LoopWatchdog

    async def main(block: bool) -> None:
        dog = LoopWatchdog(0.4, exit_code=70)
        dog.start()
        beat = asyncio.create_task(dog.beat())
        await asyncio.sleep(0.3)
        if block:
            time.sleep(5)  # a blocking call: the loop cannot run beat() any more
        else:
            await asyncio.sleep(1.2)  # healthy: the loop keeps beating
        dog.stop()
        beat.cancel()
        print("survived", flush=True)

    asyncio.run(main(sys.argv[1] == "block"))
    """
)


def run_loop(mode: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return subprocess.run(
        [sys.executable, "-c", LOOP_SCRIPT, mode],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=20,
        check=False,
    )


def test_blocked_loop_is_killed_with_the_exit_code() -> None:
    result = run_loop("block")

    assert result.returncode == 70
    assert "survived" not in result.stdout
    assert "event loop stalled for" in result.stderr
    assert "exiting so the supervisor restarts the daemon" in result.stderr


def test_healthy_loop_is_left_alone() -> None:
    result = run_loop("run")

    assert result.returncode == 0, result.stderr
    assert "survived" in result.stdout


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    yield server, path
    server.close()


def test_sd_notify_sends_ready_to_the_socket(
    notify_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)

    assert sd_notify("READY=1") is True
    assert server.recv(256) == b"READY=1"


def test_sd_notify_supports_the_abstract_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"risk-manager-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)

        assert sd_notify("READY=1") is True
        assert server.recv(256) == b"READY=1"


def test_sd_notify_without_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False


def test_sd_notify_to_a_missing_socket_returns_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert sd_notify("READY=1") is False


def test_beat_feeds_the_systemd_watchdog(
    notify_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # 0.2 s: beats every 0.1 s at most
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    dog = LoopWatchdog(30.0)

    async def beat_briefly() -> None:
        task = asyncio.create_task(dog.beat())
        await asyncio.sleep(0.35)
        task.cancel()

    asyncio.run(beat_briefly())

    assert dog.beat_interval == pytest.approx(0.1)
    messages = [server.recv(256)]
    server.settimeout(0.5)
    messages.append(server.recv(256))
    assert messages == [b"WATCHDOG=1", b"WATCHDOG=1"]


def test_beat_does_not_feed_a_watchdog_meant_for_another_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent")
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert LoopWatchdog(8.0).beat_interval == 2.0


def test_stall_seconds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopWatchdog(0)
