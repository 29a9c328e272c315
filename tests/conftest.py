"""Shared fixtures: a real daemon subprocess per test, on a temporary home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess, write_config


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Start a daemon on a manual-market simulator with the given profile TOML body."""
    started: list[DaemonProcess] = []

    def start(
        profile: str = "", *, text: str | None = None, home: Path | None = None
    ) -> DaemonProcess:
        home = home or tmp_path / "home"
        if text is not None or profile or not (home / "config" / "risk_manager.toml").exists():
            write_config(home, profile, text)
        daemon = DaemonProcess(home).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.ensure_stopped()
