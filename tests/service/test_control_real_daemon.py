"""control.start / status / stop against the real daemon (python -m risk_manager run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from risk_manager.service import control
from tests.daemon_process import write_config

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX background process")


def test_real_daemon_starts_detached_answers_health_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(control.URL_ENV, raising=False)
    home = tmp_path / "home"
    write_config(home, "max_contracts.limit = 5")  # simulated broker on a free port
    started = control.start(home, timeout=30)
    try:
        info = control.status(home)
        assert (info.running, info.healthy, info.pid) == (True, True, started.pid)
        assert info.health is not None
        assert info.health["pid"] == started.pid
    finally:
        stopped = control.stop(home, timeout=30)

    assert stopped.exit_code == 0
    assert not (home / "state" / "daemon.pid").exists()
    assert not (home / "state" / "daemon.url").exists()
