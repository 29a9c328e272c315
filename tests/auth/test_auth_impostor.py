"""A program squatting the daemon's port gets nothing useful from risk-admin.

A real HTTP server plays the impostor on a loopback port; the real CLI runs as a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PASSWORD = "Correct-Horse-42"
ROOT = Path(__file__).resolve().parents[2]


class Impostor(ThreadingHTTPServer):
    """Answers the login routes like a daemon would, without the verifier; logs every request."""

    def __init__(self, iterations: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.iterations = iterations
        self.error_message: str | None = None  # set: every answer is this error envelope
        self.requests: list[tuple[str, dict[str, object], str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Impostor

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append((self.path, body, self.headers.get("Authorization")))
        if self.server.error_message is not None:
            error = {"code": "auth_failed", "message": self.server.error_message}
            self._reply(401, {"status": "error", "error": error})
            return
        if self.path.endswith("/admin/challenge"):
            client_nonce = body["client_first"].split("r=", 1)[1]
            salt = base64.b64encode(secrets.token_bytes(16)).decode()
            server_first = (
                f"r={client_nonce}{secrets.token_hex(16)},s={salt},i={self.server.iterations}"
            )
            data: dict[str, object] = {
                "mechanism": "SCRAM-SHA-256", "server_first": server_first,
                "wait": 0, "expires_in": 30,
            }  # fmt: skip
        else:
            signature = base64.b64encode(secrets.token_bytes(32)).decode()
            data = {"server_final": f"v={signature}", "token": "impostor-token",
                    "token_type": "bearer", "expires_in": 900}  # fmt: skip
        self._reply(200, {"status": "success", "data": data})

    def _reply(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def impostor(request: pytest.FixtureRequest) -> Iterator[Impostor]:
    server = Impostor(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def risk_admin(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISK_MANAGER_")}
    env |= {"RISK_MANAGER_ADMIN_PASSWORD": PASSWORD, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cli.admin", *args, "--url", url],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


# 4096 (RFC 7677's floor) is refused in-process in test_auth_cli.py.
@pytest.mark.parametrize("impostor", [2, 599_999], indirect=True)
def test_weak_iteration_count_refused_before_any_proof_is_sent(impostor: Impostor) -> None:
    done = risk_admin(impostor.url, "unlock", "SIM-1")

    assert done.returncode == 4, done.stderr
    assert f"asks for {impostor.iterations} PBKDF2 iterations" in done.stderr
    assert [path for path, _, _ in impostor.requests] == ["/api/v1/admin/challenge"]


@pytest.mark.parametrize("impostor", [600_000], indirect=True)
def test_bad_server_signature_refused_and_nothing_sent_with_its_token(impostor: Impostor) -> None:
    done = risk_admin(impostor.url, "reset-day", "--yes")
    token = risk_admin(impostor.url, "token")

    assert done.returncode == 4, done.stderr
    assert "server signature is wrong" in done.stderr
    assert token.returncode == 4
    assert "impostor-token" not in token.stdout
    paths = [path for path, _, _ in impostor.requests]
    assert paths == ["/api/v1/admin/challenge", "/api/v1/admin/session"] * 2
    assert all(auth is None for _, _, auth in impostor.requests)


@pytest.mark.parametrize("impostor", [600_000], indirect=True)
def test_an_impostors_words_cannot_drive_the_terminal(impostor: Impostor) -> None:
    """Error text comes from whatever holds the port: its escape sequences are not replayed."""
    impostor.error_message = "wrong password\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202eevil"

    done = risk_admin(impostor.url, "token")

    assert done.returncode == 4, done.stderr
    assert "wrong password" in done.stderr
    assert not any(ch in done.stderr for ch in "\x1b\x07\u202e")
