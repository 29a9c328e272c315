"""risk-trader watch: follows a restarted daemon to its new port, says at once when it is gone."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from cli.watch import RESYNC_EVENTS, Model
from tests.cli.conftest import PROFILE
from tests.daemon_process import DaemonProcess, write_config


def render(model: Model, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(model.render())
    return console.export_text()


def test_lost_daemon_is_shown_at_once_with_the_whole_message() -> None:
    model = Model()
    model.connected = True
    url = "http://127.0.0.1:45678"

    model.lost(f"daemon not running at {url} (from state/daemon.url) — start it")

    screen = render(model, 40)
    assert "DISCONNECTED" in screen
    assert "45678" in "".join(screen.split())  # wrapped on a narrow screen, never cut
    assert "broker unknown" in " ".join(screen.split())  # no stale "connected"


def test_quotes_refresh_positions_as_well_as_the_header() -> None:
    model = Model()

    model.apply("pnl", {"account_id": "SIM-1", "unrealized": "-20.00"})

    assert "pnl" in RESYNC_EVENTS
    assert model.resync.is_set()
    assert model.pnl["SIM-1"]["unrealized"] == "-20.00"


def test_watch_follows_the_daemon_to_its_new_port_after_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, PROFILE)
    daemon = DaemonProcess(home).start()
    env = {"RISK_MANAGER_HOME": str(home), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "cli.trader", "watch", "--duration", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        time.sleep(3)  # the dashboard connects to the first daemon
        first = daemon.url
        daemon.stop()
        daemon.start()  # port 0: a new port, written to state/daemon.url
        assert daemon.url != first
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill()
        daemon.ensure_stopped()

    assert watch.returncode == 0, err
    last_frame = out[out.rindex("Risk Manager") :]
    assert f"daemon live {daemon.url}" in last_frame
    assert "DISCONNECTED" not in last_frame
