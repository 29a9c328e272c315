"""CLI tests run the real console programs as subprocesses against a real daemon."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import DaemonProcess, write_config

PASSWORD = "Correct-Horse-42"
PROFILE = """
[profiles.test.daily_realized_loss]
limit = 500
[profiles.test.max_contracts]
limit = 2
lockout_minutes = 30
"""


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    program: str, *args: str, home: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> Result:
    """Run `python -m cli.<program> args`; the environment is scrubbed of the CLIs' variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RISK_MANAGER_")}
    clean |= {"RISK_MANAGER_HOME": str(home), "COLUMNS": "200", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", f"cli.{program}", *args],
        input=stdin, capture_output=True, text=True, env=clean, timeout=60,
    )  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


def free_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """One daemon per test module (the commands under test mostly only read)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    write_config(home, PROFILE)
    process = DaemonProcess(home).start()
    yield process
    try:
        process.stop()
    finally:
        process.ensure_stopped()
