"""Admin auth over real HTTP: bearer required, SCRAM handshake, replay, penalty, reset, token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from risk_manager.auth.passwords import hash_password, save_secret
from tests import scram_client
from tests.api.conftest import ADMIN, PASSWORD, StartAdmin, call, error_code, login
from tests.api.test_events import TIMEOUT, messages, until
from tests.daemon_process import DaemonProcess

WRONG = "Wrong-Password-77"


def admin_cli(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISK_MANAGER_")}
    env["RISK_MANAGER_ADMIN_PASSWORD"] = PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "cli.admin", *args, "--url", daemon.url],
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
    first = {"client_first": scram_client.scram_client(WRONG).get_client_first()}
    flood = [call(daemon, "POST", f"{ADMIN}/challenge", json=first) for _ in range(300)]
    garbage = [{"client_final": "c=biws,r=" + "00" * 40 + ",p=AAAA"}, {"client_final": "x"}]
    replies = [call(daemon, "POST", f"{ADMIN}/session", json=body) for body in garbage * 10]

    assert {r.status_code for r in flood} == {200}
    assert {r.status_code for r in replies} == {401}
    assert admin_auth_health(daemon) == {"failures": 0, "penalty_seconds": 0}
    assert login(daemon)["Authorization"].startswith("Bearer ")


def test_wrong_proofs_slow_auth_down_notify_and_auth_reset_clears_it(
    daemon: DaemonProcess,
) -> None:
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

    reset = admin_cli(daemon, "auth-reset", "--home", str(daemon.home), "--json")

    assert [r.status_code for r in replies] == [401] * 5
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


def test_risk_admin_token_prints_a_bearer_token_curl_can_use(start_admin: StartAdmin) -> None:
    daemon = start_admin(password=False)
    # At the real iteration count: the CLI refuses a cheaper challenge.
    save_secret(daemon.home / "secrets" / "admin.json", hash_password(PASSWORD))

    done = admin_cli(daemon, "token")
    token = done.stdout.strip()
    response = call(daemon, "GET", f"{ADMIN}/config", {"Authorization": f"Bearer {token}"})
    description = daemon.client.get("/openapi.json").json()["info"]["description"]

    assert done.returncode == 0, done.stderr
    assert response.status_code == 200, response.text
    assert "risk-admin token" in description


def test_secret_file_of_the_scrypt_version_asks_for_set_password(start_admin: StartAdmin) -> None:
    daemon = start_admin(password=False)
    old = {"version": 1, "kdf": "scrypt", "salt": "00" * 16, "n": 16384, "r": 8, "p": 1,
           "dklen": 32, "key": "00" * 32}  # fmt: skip
    (daemon.home / "secrets" / "admin.json").write_text(json.dumps(old))
    first = scram_client.scram_client(PASSWORD).get_client_first()

    response = call(daemon, "POST", f"{ADMIN}/challenge", json={"client_first": first})

    assert response.status_code == 503
    assert error_code(response) == "admin_secret_outdated"
    assert "run risk-admin set-password again" in response.json()["error"]["message"]


def test_no_password_set_is_503_not_configured(start_admin: StartAdmin) -> None:
    daemon = start_admin(password=False)
    first = scram_client.scram_client(PASSWORD).get_client_first()

    response = call(daemon, "POST", f"{ADMIN}/challenge", json={"client_first": first})

    assert response.status_code == 503
    assert error_code(response) == "admin_not_configured"


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
