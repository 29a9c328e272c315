"""API tests talk to a real daemon subprocess over HTTP; an admin password is set beforehand."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from risk_manager.auth.passwords import hash_password, save_secret
from tests.daemon_process import DaemonProcess

PASSWORD = "Correct-Horse-42"
SCRYPT_N = 2**10  # the real default is 2**14; the tests need the formula, not the cost
ACCOUNT = "/api/v1/accounts/SIM-1"
ADMIN = "/api/v1/admin"
LOSS_PROFILE = "daily_realized_loss.limit = 100"

StartAdmin = Callable[..., DaemonProcess]


def proof_for(challenge: dict[str, Any], password: str = PASSWORD) -> str:
    """hex(HMAC-SHA256(scrypt(password, salt, n, r, p, dklen), nonce bytes)), from scratch."""
    key = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(challenge["salt"]),
        n=challenge["n"], r=challenge["r"], p=challenge["p"], dklen=challenge["dklen"],
    )  # fmt: skip
    return hmac.new(key, bytes.fromhex(challenge["nonce"]), hashlib.sha256).hexdigest()


def challenge(daemon: DaemonProcess) -> dict[str, Any]:
    return daemon.post(f"{ADMIN}/challenge")


def login(daemon: DaemonProcess) -> dict[str, str]:
    """Run the handshake; returns the Authorization header."""
    issued = challenge(daemon)
    token = daemon.post(f"{ADMIN}/session", {"nonce": issued["nonce"], "proof": proof_for(issued)})
    return {"Authorization": f"Bearer {token['token']}"}


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
            secret = hash_password(PASSWORD, n=SCRYPT_N)
            save_secret(tmp_path / "home" / "secrets" / "admin.json", secret)
        return start_daemon(profile, text=text)

    return start


@pytest.fixture
def daemon(start_admin: StartAdmin) -> DaemonProcess:
    """A daemon with a $100 daily loss limit and an admin password."""
    return start_admin(LOSS_PROFILE)
