"""The daemon as a Windows console process under Wine, and ways to poke it like Windows does."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from tests.windows.wineenv import Wine, clean_output, winpath

HERE = Path(__file__).resolve().parent
CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_LOGOFF_EVENT = 5


def _drain(pipe: IO[bytes], log: Path) -> None:
    # python.exe refuses a regular Linux file as stdout ("Invalid handle"): it gets a pipe, and
    # this thread copies the pipe into the log so the test can read it.
    with pipe, log.open("ab") as out:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            out.write(chunk)
            out.flush()


@dataclass
class WindowsPython:
    """The session's Windows interpreter in its Wine prefix."""

    wine: Wine
    exe: Path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.wine.run(str(self.exe), "-I", *args, timeout=timeout)

    def script(
        self, name: str, *args: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run one of the Windows-side helper scripts beside this module."""
        return self.run(winpath(HERE / name), *args, timeout=timeout)

    def popen(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["wine", str(self.exe), "-I", "-u", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.wine.env,
        )
        assert process.stdout is not None
        threading.Thread(target=_drain, args=(process.stdout, log), daemon=True).start()
        return process


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def health(url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(url + "/api/v1/health", timeout=3.0, trust_env=False)
    except httpx.HTTPError:
        return None
    return response.json()["data"] if response.status_code == 200 else None


def daemon_url(home: Path) -> str | None:
    url_file = home / "state" / "daemon.url"
    return url_file.read_text().strip() if url_file.exists() else None


def linux_pids(marker: str) -> list[int]:
    """Linux PIDs of the Wine processes whose command line contains `marker`."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if marker.lower() in cmdline.lower() and process.status() != psutil.STATUS_ZOMBIE:
            found.append(process.pid)
    return found


class ConsoleDaemon:
    """`python.exe -I -u -m risk_manager run` started from a console, as an admin would."""

    def __init__(self, python: WindowsPython, home: Path) -> None:
        self.python = python
        self.home = home
        self.log = home.parent / f"{home.name}.console.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 60) -> ConsoleDaemon:
        (self.home / "state" / "daemon.url").unlink(missing_ok=True)
        args = ["-m", "risk_manager", "run", "--home", winpath(self.home), "--port", "0"]
        self.process = self.python.popen(args, self.log)
        self.url = wait_for(self._ready, timeout, f"the daemon's URL file\n{self.output()}")
        wait_for(lambda: health(self.url), timeout, "/health to answer")
        return self

    def _ready(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"daemon exited {self.process.returncode}:\n{self.output()}")
        return daemon_url(self.home)

    def output(self) -> str:
        return clean_output(self.log.read_bytes()) if self.log.exists() else ""

    @property
    def windows_pid(self) -> int:
        return int((self.home / "state" / "daemon.pid").read_text().strip())

    def ctrl_c(self) -> None:
        """SIGINT to the Wine process: Wine turns it into a console CTRL_C_EVENT."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


# Two accounts: SIM-1 locks out after a $50 realized loss, SIM-2 has no rules and keeps a
# position, so one restart can show both a lockout and an open position surviving.
CONFIG = """
[daemon]
port = 0
[daemon.log]
console = true

[broker]
kind = "simulated"
[broker.simulated]
market = "manual"
test_controls = true
prices = { MNQ = 21000.00, ES = 6000.00 }

[accounts.SIM-1]
name = "Guarded"
profile = "guarded"
[accounts.SIM-2]
name = "Open"
profile = "open"

[profiles.guarded]
daily_realized_loss.limit = 50
[profiles.open]
"""


def write_config(home: Path) -> None:
    for sub in ("config", "state", "logs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "config" / "risk_manager.toml").write_text(CONFIG)


def api(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.request(method, url + path, json=body, timeout=10.0, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def lock_out_and_hold(url: str) -> None:
    """SIM-1: a $60 realized loss → locked out; SIM-2: long 2 MNQ."""
    orders = "/api/v1/sim/accounts/{}/orders"
    api(url, "POST", orders.format("SIM-1"), {"symbol": "MNQ", "side": "buy", "quantity": 1})
    api(url, "POST", "/api/v1/sim/prices", {"symbol": "MNQ", "price": 20970.00})
    api(url, "POST", orders.format("SIM-1"), {"symbol": "MNQ", "side": "sell", "quantity": 1})
    api(url, "POST", orders.format("SIM-2"), {"symbol": "MNQ", "side": "buy", "quantity": 2})


def lockouts_and_positions(url: str) -> tuple[list[str], dict[str, int]]:
    """SIM-1's active lockout rules and SIM-2's positions."""
    locked = api(url, "GET", "/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    held = api(url, "GET", "/api/v1/accounts/SIM-2/positions")["positions"]
    return [x["rule"] for x in locked], {p["symbol"]: p["size"] for p in held}
