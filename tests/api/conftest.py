"""API tests talk to a real daemon subprocess over HTTP; an admin password is set beforehand."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from risk_manager.auth.passwords import MIN_ITERATIONS, hash_password, save_secret
from tests import scram_client
from tests.daemon_process import DaemonProcess

PASSWORD = "Correct-Horse-42"
# The daemon never derives the verifier, so a cheap stored count costs the tests nothing; the
# CLI's minimum is tested against verifiers at the real default (tests/auth, tests/cli).
ITERATIONS = MIN_ITERATIONS
ACCOUNT = "/api/v1/accounts/SIM-1"
ADMIN = "/api/v1/admin"
LOSS_PROFILE = "daily_realized_loss.limit = 100"

StartAdmin = Callable[..., DaemonProcess]


def login(daemon: DaemonProcess, password: str = PASSWORD) -> dict[str, str]:
    """Run the SCRAM handshake (server signature checked); returns the Authorization header."""
    session = scram_client.login(daemon.post, password)
    return {"Authorization": f"Bearer {session['token']}"}


def call(
    daemon: DaemonProcess, method: str, path: str, headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:  # fmt: skip
    """One raw request (status and headers are the test's business)."""
    assert daemon.client is not None
    return daemon.client.request(method, path, headers=headers, **kwargs)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] == "error", body
    return body["error"]["code"]


def lose_past_daily_limit(daemon: DaemonProcess) -> None:
    """buy 2 MNQ at 21000, price 20970, sell 2: -$121.48 breaches a $100 daily loss limit."""
    daemon.price(21000.00)
    daemon.order("buy", 2)
    daemon.price(20970.00)
    daemon.order("sell", 2)


def active_lockouts(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]


def wait_until(probe: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


@pytest.fixture
def start_admin(start_daemon: Callable[..., DaemonProcess], tmp_path: Path) -> StartAdmin:
    """start_daemon, with the admin password set in the home's secret file first."""

    def start(profile: str = "", *, text: str | None = None, password: bool = True
              ) -> DaemonProcess:  # fmt: skip
        if password:
            secret = hash_password(PASSWORD, iterations=ITERATIONS)
            save_secret(tmp_path / "home" / "secrets" / "admin.json", secret)
        return start_daemon(profile, text=text)

    return start


@pytest.fixture
def daemon(start_admin: StartAdmin) -> DaemonProcess:
    """A daemon with a $100 daily loss limit and an admin password."""
    return start_admin(LOSS_PROFILE)
