"""Start the real daemon as a subprocess on a free loopback port and talk to it over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

MANUAL_CONFIG = """
[daemon]
port = 0
snapshot_interval_seconds = 30
[daemon.log]
console = true
level = "DEBUG"

[broker]
kind = "simulated"
[broker.simulated]
market = "manual"
test_controls = true
prices = {{ MNQ = 21000.00, ES = 6000.00, NQ = 21000.00, CL = 70.00 }}

[accounts.SIM-1]
name = "Test account"
profile = "test"

[profiles.test]
{profile}
"""


def write_config(home: Path, profile: str = "", text: str | None = None) -> Path:
    """Write a manual-market config into `home`/config and return its path."""
    path = home / "config" / "risk_manager.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else MANUAL_CONFIG.format(profile=profile))
    return path


class DaemonProcess:
    """One daemon subprocess with a home directory; restartable on the same home."""

    def __init__(
        self,
        home: Path,
        extra_args: tuple[str, ...] = (),
        prefix: tuple[str, ...] = (),
        python: str = sys.executable,
        *,
        allow_empty: bool = True,
    ) -> None:
        self.home = home
        # Most tests run without rules (an empty profile), which the daemon refuses unless
        # confirmed; the tests of that refusal pass allow_empty=False.
        self.extra_args = (*extra_args, "--allow-empty") if allow_empty else extra_args
        self.python = python
        # A wrapper (sandbox, another user) that must exec the daemon so the PID stays its own.
        self.prefix = prefix
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.client: httpx.Client | None = None
        self.log_path = home.parent / f"{home.name}.console.log"

    def start(self, timeout: float = 15.0) -> DaemonProcess:
        url_file = self.home / "state" / "daemon.url"
        url_file.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*self.prefix, self.python, "-m", "risk_manager", "run", "--home", str(self.home),
             "--port", "0", *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not url_file.exists():
            if self.proc.poll() is not None:
                self.ensure_stopped()
                raise RuntimeError(f"daemon exited {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                self.ensure_stopped()  # the caller never gets this object to stop it
                raise TimeoutError(f"daemon not ready:\n{self.output()}")
            time.sleep(0.02)
        self.url = url_file.read_text().strip()
        self.client = httpx.Client(base_url=self.url, timeout=10.0)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET and return the envelope's data; fails the test on an error envelope."""
        assert self.client is not None
        response = self.client.get(path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        assert self.client is not None
        response = self.client.post(path, json=body or {})
        assert response.status_code == expect, response.text
        payload = response.json()
        return payload["data"] if expect == 200 else payload

    def order(self, side: str, quantity: int, symbol: str = "MNQ", account: str = "SIM-1",
              **extra: Any) -> Any:  # fmt: skip
        body = {"symbol": symbol, "side": side, "quantity": quantity, **extra}
        return self.post(f"/api/v1/sim/accounts/{account}/orders", body)

    def price(self, price: float, symbol: str = "MNQ") -> Any:
        return self.post("/api/v1/sim/prices", {"symbol": symbol, "price": price})

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send a signal and wait for the exit code."""
        assert self.proc is not None
        if self.client:
            self.client.close()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.log.close()
        return code

    def kill9(self) -> None:
        """SIGKILL: no chance to clean up."""
        assert self.proc is not None
        if self.client:
            self.client.close()
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def ensure_stopped(self) -> None:
        if self.client:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None:
            # Also after a failed start or an exit of its own: a handle left for the garbage
            # collector surfaces as a ResourceWarning failing whichever test runs next.
            self.log.close()
