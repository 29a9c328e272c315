"""Admin auth over real HTTP: bearer required, handshake, replay, lock, health, docs recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from risk_manager.api.docs import PROOF_ONE_LINER
from tests.api.conftest import (
    ADMIN,
    PASSWORD,
    StartAdmin,
    call,
    challenge,
    error_code,
    proof_for,
)
from tests.daemon_process import DaemonProcess

WRONG = "Wrong-Password-77"


def test_admin_route_without_token_is_401_envelope_with_bearer_challenge(
    daemon: DaemonProcess,
) -> None:
    response = call(daemon, "GET", f"{ADMIN}/config")

    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_admin_route_with_made_up_token_is_401(daemon: DaemonProcess) -> None:
    response = call(daemon, "POST", f"{ADMIN}/reset-day", {"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_handshake_then_admin_routes_work(daemon: DaemonProcess) -> None:
    issued = challenge(daemon)

    session = daemon.post(
        f"{ADMIN}/session", {"nonce": issued["nonce"], "proof": proof_for(issued)}
    )
    headers = {"Authorization": f"Bearer {session['token']}"}
    response = call(daemon, "GET", f"{ADMIN}/config", headers)

    assert set(issued) >= {"nonce", "salt", "n", "r", "p", "dklen", "expires_in"}
    assert 0 < issued["expires_in"] <= 60
    assert session["token_type"] == "bearer"
    assert response.status_code == 200, response.text
    assert "[profiles.test]" in response.json()["data"]["text"]


def test_replayed_challenge_and_proof_are_refused(daemon: DaemonProcess) -> None:
    issued = challenge(daemon)
    body = {"nonce": issued["nonce"], "proof": proof_for(issued)}
    daemon.post(f"{ADMIN}/session", body)

    replay = call(daemon, "POST", f"{ADMIN}/session", json=body)

    assert replay.status_code == 401
    assert error_code(replay) == "auth_failed"
    assert "already used" in replay.json()["error"]["message"]


def test_six_wrong_proofs_lock_admin_auth_and_health_shows_it(daemon: DaemonProcess) -> None:
    nonces = [challenge(daemon) for _ in range(6)]

    replies = [
        call(daemon, "POST", f"{ADMIN}/session",
             json={"nonce": c["nonce"], "proof": proof_for(c, WRONG)})
        for c in nonces
    ]  # fmt: skip
    right_after = call(daemon, "POST", f"{ADMIN}/challenge")
    health = daemon.get("/api/v1/health")["admin_auth"]

    assert [r.status_code for r in replies] == [401] * 5 + [429]
    assert "locked" in replies[4].json()["error"]["message"]
    assert error_code(replies[5]) == "auth_locked"
    assert int(replies[5].headers["Retry-After"]) > 0
    assert right_after.status_code == 429
    assert health["locked"] is True
    assert health["failures"] >= 5
    assert health["seconds_remaining"] > 0
    assert "Admin auth locked" in daemon.output()


def test_health_reports_admin_auth_unlocked_by_default(daemon: DaemonProcess) -> None:
    assert daemon.get("/api/v1/health")["admin_auth"] == {
        "locked": False, "seconds_remaining": 0, "failures": 0,
    }  # fmt: skip


def test_no_password_set_is_503_not_configured(start_admin: StartAdmin) -> None:
    daemon = start_admin(password=False)

    response = call(daemon, "POST", f"{ADMIN}/challenge")

    assert response.status_code == 503
    assert error_code(response) == "admin_not_configured"


def test_session_body_is_validated(daemon: DaemonProcess) -> None:
    response = call(daemon, "POST", f"{ADMIN}/session", json={"nonce": "ab"})

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


def test_documented_python_one_liner_computes_a_working_proof(daemon: DaemonProcess) -> None:
    description = daemon.client.get("/openapi.json").json()["info"]["description"]
    envelope = call(daemon, "POST", f"{ADMIN}/challenge").text

    done = subprocess.run(
        [sys.executable, "-c", PROOF_ONE_LINER], input=envelope, capture_output=True, text=True,
        env={**os.environ, "RISK_MANAGER_ADMIN_PASSWORD": PASSWORD}, timeout=30, check=True,
    )  # fmt: skip
    session = call(daemon, "POST", f"{ADMIN}/session", json=json.loads(done.stdout))

    assert PROOF_ONE_LINER in description
    assert session.status_code == 200, session.text
    assert session.json()["data"]["token"]
