"""Admin auth over real HTTP: bearer required, SCRAM handshake, replay, penalty, reset, token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from risk_manager.auth.passwords import hash_password, save_secret
from tests import scram_client
from tests.api.conftest import (
    ADMIN,
    ITERATIONS,
    LOSS_PROFILE,
    PASSWORD,
    StartAdmin,
    call,
    error_code,
    login,
)
from tests.api.test_events import TIMEOUT, messages, until
from tests.daemon_process import DaemonProcess, write_config

WRONG = "Wrong-Password-77"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """One daemon for the tests that never fail a proof, so none leaves a penalty behind."""
    home = tmp_path_factory.mktemp("admin-auth") / "home"
    write_config(home, LOSS_PROFILE)
    save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD, iterations=ITERATIONS))
    shared = DaemonProcess(home).start()
    yield shared
    shared.ensure_stopped()


def admin_cli(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """risk-admin as a subprocess; `args` say how it finds the daemon (--url or --home)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISK_MANAGER_")}
    env["RISK_MANAGER_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "cli.admin", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def fail_proofs(daemon: DaemonProcess, count: int) -> list[httpx.Response]:
    """Wrong passwords against challenges the daemon issued, each answered once it may be."""
    replies = []
    for _ in range(count):
        client = scram_client.scram_client(WRONG)
        issued = daemon.post(f"{ADMIN}/challenge", {"client_first": client.get_client_first()})
        client.set_server_first(issued["server_first"])
        final = {"client_final": client.get_client_final()}
        time.sleep(issued["wait"])
        replies.append(call(daemon, "POST", f"{ADMIN}/session", json=final))
    return replies


def admin_auth_health(daemon: DaemonProcess) -> dict[str, Any]:
    return daemon.get("/api/v1/health")["admin_auth"]


def test_admin_route_without_token_is_401_envelope_with_bearer_challenge(
    daemon: DaemonProcess,
) -> None:
    response = call(daemon, "GET", f"{ADMIN}/config")

    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "risk-admin token" in response.json()["error"]["message"]


def test_admin_route_with_made_up_token_is_401(daemon: DaemonProcess) -> None:
    response = call(daemon, "POST", f"{ADMIN}/reset-day", {"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


def test_handshake_then_admin_routes_work(daemon: DaemonProcess) -> None:
    client = scram_client.scram_client(PASSWORD)
    issued = daemon.post(f"{ADMIN}/challenge", {"client_first": client.get_client_first()})
    client.set_server_first(issued["server_first"])
    session = daemon.post(f"{ADMIN}/session", {"client_final": client.get_client_final()})
    client.set_server_final(session["server_final"])  # the daemon proved itself
    headers = {"Authorization": f"Bearer {session['token']}"}
    response = call(daemon, "GET", f"{ADMIN}/config", headers)

    assert issued["mechanism"] == "SCRAM-SHA-256"
    assert issued["wait"] == 0
    assert 0 < issued["expires_in"] <= 60
    assert session["token_type"] == "bearer"
    assert response.status_code == 200, response.text
    assert "[profiles.test]" in response.json()["data"]["text"]


def test_replayed_final_message_is_refused(daemon: DaemonProcess) -> None:
    client = scram_client.scram_client(PASSWORD)
    issued = daemon.post(f"{ADMIN}/challenge", {"client_first": client.get_client_first()})
    client.set_server_first(issued["server_first"])
    body = {"client_final": client.get_client_final()}
    daemon.post(f"{ADMIN}/session", body)

    replay = call(daemon, "POST", f"{ADMIN}/session", json=body)

    assert replay.status_code == 401
    assert error_code(replay) == "auth_failed"
    assert "already used" in replay.json()["error"]["message"]


def test_garbage_and_challenge_floods_never_lock_the_admin_out(daemon: DaemonProcess) -> None:
    admin = scram_client.scram_client(PASSWORD)
    issued = daemon.post(f"{ADMIN}/challenge", {"client_first": admin.get_client_first()})
    first = {"client_first": scram_client.scram_client(WRONG).get_client_first()}
    flood = [call(daemon, "POST", f"{ADMIN}/challenge", json=first) for _ in range(300)]
    garbage = [{"client_final": "c=biws,r=" + "00" * 40 + ",p=AAAA"}, {"client_final": "x"}]
    replies = [call(daemon, "POST", f"{ADMIN}/session", json=body) for body in garbage * 10]
    admin.set_server_first(issued["server_first"])
    # The challenge issued before the flood is still answerable: nothing was evicted.
    session = daemon.post(f"{ADMIN}/session", {"client_final": admin.get_client_final()})
    admin.set_server_final(session["server_final"])

    assert {r.status_code for r in flood} == {200}
    assert {r.status_code for r in replies} == {401}
    assert admin_auth_health(daemon) == {"failures": 0, "penalty_seconds": 0}
    assert login(daemon)["Authorization"].startswith("Bearer ")


def test_wrong_proofs_slow_auth_down_notify_and_auth_reset_clears_it(
    start_admin: StartAdmin,
) -> None:
    daemon = start_admin(LOSS_PROFILE)
    with (
        httpx.Client(base_url=daemon.url, timeout=TIMEOUT) as listener,
        listener.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response.iter_lines())
        until(stream, "hello")
        replies = fail_proofs(daemon, 5)
        event = until(stream, "admin_auth_penalty")
    client = scram_client.scram_client(PASSWORD)
    slowed = daemon.post(f"{ADMIN}/challenge", {"client_first": client.get_client_first()})
    client.set_server_first(slowed["server_first"])
    early = call(
        daemon, "POST", f"{ADMIN}/session", json={"client_final": client.get_client_final()}
    )
    health = admin_auth_health(daemon)

    reset = admin_cli("auth-reset", "--home", str(daemon.home), "--json")

    assert [r.status_code for r in replies] == [401] * 5
    # RFC 5802's server-final error, for any SCRAM client
    assert {r.json()["error"]["details"]["server_final"] for r in replies} == {"e=invalid-proof"}
    assert int(replies[-1].headers["Retry-After"]) == 2
    assert (event["failures"], event["wait_seconds"], event["severity"]) == (4, 1, "critical")
    assert slowed["wait"] == 2
    assert (early.status_code, error_code(early)) == (429, "auth_wait")
    assert int(early.headers["Retry-After"]) >= 1
    assert health == {"failures": 5, "penalty_seconds": 2}
    assert "Admin auth slowed" in daemon.output()
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["admin_auth"] == {"failures": 0, "penalty_seconds": 0}
    assert "cleared by an administrator" in daemon.output()
    fresh = scram_client.scram_client(PASSWORD)
    issued = daemon.post(f"{ADMIN}/challenge", {"client_first": fresh.get_client_first()})
    assert issued["wait"] == 0


def test_password_file_lifecycle_from_none_to_token_to_change(start_admin: StartAdmin) -> None:
    """No password, a damaged file, the old scrypt file, then set-password: the token of
    `risk-admin token --home` is what curl sends (docs/api.md); a password change ends it."""
    daemon = start_admin(password=False)
    secret_file = daemon.home / "secrets" / "admin.json"
    first = {"client_first": scram_client.scram_client(PASSWORD).get_client_first()}
    none_set = call(daemon, "POST", f"{ADMIN}/challenge", json=first)
    secret_file.write_text('{"version": 2, "mechanism": "SCRAM-SHA-256"}')
    damaged = call(daemon, "POST", f"{ADMIN}/challenge", json=first)
    old = {"version": 1, "kdf": "scrypt", "salt": "00" * 16, "n": 16384, "r": 8, "p": 1,
           "dklen": 32, "key": "00" * 32}  # fmt: skip
    secret_file.write_text(json.dumps(old))
    outdated = call(daemon, "POST", f"{ADMIN}/challenge", json=first)

    # At the real iteration count, as set-password writes it: the CLI refuses a cheaper one.
    set_password = admin_cli("set-password", "--home", str(daemon.home))
    stored = json.loads(secret_file.read_text())
    done = admin_cli("token", "--home", str(daemon.home))
    bearer = {"Authorization": f"Bearer {done.stdout.strip()}"}
    response = call(daemon, "GET", f"{ADMIN}/config", bearer)
    save_secret(secret_file, hash_password("Another-Password-9", iterations=ITERATIONS))
    after_change = call(daemon, "GET", f"{ADMIN}/config", bearer)

    assert (none_set.status_code, error_code(none_set)) == (503, "admin_not_configured")
    assert (damaged.status_code, error_code(damaged)) == (503, "admin_secret_corrupt")
    assert "run risk-admin set-password" in damaged.json()["error"]["message"]
    assert (outdated.status_code, error_code(outdated)) == (503, "admin_secret_outdated")
    assert "run risk-admin set-password again" in outdated.json()["error"]["message"]
    assert set_password.returncode == 0, set_password.stderr
    assert stored["iterations"] == 600_000
    assert done.returncode == 0, done.stderr
    assert response.status_code == 200, response.text
    assert (after_change.status_code, error_code(after_change)) == (401, "unauthorized")
    description = call(daemon, "GET", "/openapi.json").json()["info"]["description"]
    assert "risk-admin token" in description


def test_login_bodies_are_validated(daemon: DaemonProcess) -> None:
    for path, body in (("session", {"nonce": "ab"}), ("challenge", {})):
        response = call(daemon, "POST", f"{ADMIN}/{path}", json=body)

        assert response.status_code == 422
        assert error_code(response) == "validation_error"


def test_openapi_declares_bearer_scheme_on_admin_routes_only(daemon: DaemonProcess) -> None:
    schema = daemon.client.get("/openapi.json").json() if daemon.client else {}

    schemes = schema["components"]["securitySchemes"]
    secured = {
        path for path, ops in schema["paths"].items()
        for op in ops.values() if op.get("security")
    }  # fmt: skip
    assert schemes["AdminToken"] == {**schemes["AdminToken"], "type": "http", "scheme": "bearer"}
    assert f"{ADMIN}/config" in secured
    assert f"{ADMIN}/daemon/stop" in secured
    assert f"{ADMIN}/challenge" not in secured
    assert f"{ADMIN}/session" not in secured
    assert "/api/v1/status" not in secured
