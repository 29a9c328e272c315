"""The fake Gateway checked by a client we did not write: the official project-x-py SDK.

project-x-py needs Python >= 3.12, so it runs in its own virtual environment, built once from a
pyenv interpreter and cached (set RISK_MANAGER_SDK_VENV to choose where). The test is skipped,
saying why, when no such interpreter exists or the SDK cannot be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.projectx.conftest import ACCOUNT_ID, MNQ
from tests.projectx.fake_gateway.exchange import ASK, STOP
from tests.projectx.fake_gateway.server import API_KEY, USERNAME, FakeGateway

SDK = "project-x-py==4.4.1"
SCRIPT = Path(__file__).with_name("sdk_client.py")


def _interpreter() -> Path | None:
    """A pyenv CPython >= 3.12 (3.12 preferred), if this machine has one."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in ("3.12", "3.13"):
        for candidate in sorted(root.glob(f"{minor}.*"), reverse=True):
            python = candidate / "bin" / "python"
            if python.exists():
                return python
    return None


def _sdk_python() -> Path:
    if sys.platform == "win32":
        pytest.skip("the SDK conformance check runs on Linux and macOS test machines")
    base = _interpreter()
    if base is None:
        pytest.skip("no pyenv Python >= 3.12 found: project-x-py cannot be installed here")
    default = (
        Path.home() / ".cache" / "risk-manager-tests" / f"projectx-sdk-{base.parent.parent.name}"
    )
    venv = Path(os.environ.get("RISK_MANAGER_SDK_VENV", default))
    python = venv / "bin" / "python"
    if (venv / "ready").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)  # half-built by an interrupted run
    subprocess.run([base, "-m", "venv", venv], check=True, timeout=120)
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", SDK], capture_output=True, text=True, timeout=900
    )
    if install.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip(f"could not install {SDK}: {install.stderr.strip()[-300:]}")
    (venv / "ready").write_text(SDK)
    return python


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    return _sdk_python()


def _lines(proc: subprocess.Popen[str]) -> Iterator[str]:
    queue: Queue[str | None] = Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            queue.put(line.rstrip("\n"))
        queue.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = queue.get(timeout=60)
        except Empty:
            raise AssertionError("the SDK client went silent") from None
        if line is None:
            return
        yield line


def test_project_x_py_logs_in_reads_subscribes_and_receives_pushes(
    sdk_python: Path, gateway: FakeGateway
) -> None:
    gateway.buy(ACCOUNT_ID, MNQ, 1)
    gateway.wait_until(lambda: gateway.state.exchange.position_size(ACCOUNT_ID, MNQ) == 1)
    stop_id = gateway.trade(ACCOUNT_ID, MNQ, ASK, 1, type_=STOP, stop="20900")
    command = [sdk_python, SCRIPT, gateway.url, USERNAME, API_KEY, "trade_execution",
               "position_update", "order_update"]  # fmt: skip
    results: dict[str, object] = {}
    events: dict[str, list[dict[str, object]]] = {}
    output: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:  # fmt: skip
        try:
            for line in _lines(proc):
                output.append(line)
                if line.startswith("RESULT "):
                    _, name, payload = line.split(" ", 2)
                    results[name] = json.loads(payload)
                elif line == "READY":
                    gateway.buy(ACCOUNT_ID, MNQ, 2)
                elif line.startswith("EVENT "):
                    _, kind, payload = line.split(" ", 2)
                    events.setdefault(kind, []).append(json.loads(payload))
            assert proc.wait(30) == 0
        finally:
            proc.kill()
    assert "DONE" in output, "\n".join(output[-30:])
    assert results["account"] == {"id": ACCOUNT_ID, "name": "PRAC-V2-4011", "balance": 49999.63}
    assert results["accounts"] == [ACCOUNT_ID, 4_012]
    assert results["positions"] == [[MNQ, 1, 1]]
    assert results["orders"] == [[stop_id, MNQ, STOP, ASK]]
    [trade] = [e["data"] for e in events["trade_execution"]]  # wrapped as {action, data}
    assert (trade["size"], trade["side"], trade["contractId"]) == (2, 0, MNQ)
    assert any(e["data"]["size"] == 3 for e in events["position_update"])
