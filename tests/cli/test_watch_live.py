"""risk-trader watch: follows a restarted daemon to its new port, says at once when it is gone."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from rich.console import Console

from cli.watch import RECONNECT_SECONDS, RESYNC_EVENTS, Model
from tests.api.conftest import wait_until
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


def _streams_from(watch: subprocess.Popen[str], url: str) -> bool:
    """Whether the dashboard is past its first snapshot (its stream and resync threads run) and
    holds a connection to the daemon at `url`. Piped to a file it prints only its last frame,
    so its threads and sockets are what shows how far it got."""
    assert watch.poll() is None, watch.communicate()
    process = psutil.Process(watch.pid)
    port = int(url.rsplit(":", 1)[1])
    connections = process.net_connections(kind="tcp")
    return process.num_threads() >= 3 and any(c.raddr and c.raddr.port == port for c in connections)


def test_watch_follows_the_daemon_to_its_new_port_after_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, PROFILE)
    daemon = DaemonProcess(home).start()
    env = {"RISK_MANAGER_HOME": str(home), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "cli.trader", "watch", "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # Ctrl-C as at a terminal, also when pytest itself was started with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        wait_until(lambda: _streams_from(watch, daemon.url), 30, "the first connection")
        first = daemon.url
        daemon.stop()
        daemon.start()  # port 0: a new port, written to state/daemon.url
        assert daemon.url != first
        wait_until(lambda: _streams_from(watch, daemon.url), 30, "the connection to the new port")
        # What was seen may be a REST resync: the stream reconnects within RECONNECT_SECONDS
        # and its hello follows (nothing sooner is observable from outside).
        time.sleep(RECONNECT_SECONDS + 1.0)
        watch.send_signal(signal.SIGINT)  # Ctrl-C: the dashboard prints its last frame and exits
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill()
        watch.communicate()  # closes the pipes
        daemon.ensure_stopped()

    assert watch.returncode == 0, err
    last_frame = out[out.rindex("Risk Manager") :]
    assert f"daemon live {daemon.url}" in last_frame
    assert "DISCONNECTED" not in last_frame
