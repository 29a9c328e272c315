"""The CLI half: proof formula agrees with the daemon; login over HTTP; password input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from cli import admin_auth
from cli.admin_auth import AuthError, compute_proof, login, read_new_password, read_password
from risk_manager.auth import AdminAuth, AdminAuthError
from risk_manager.auth.passwords import StoredSecret, hash_password, save_secret

if TYPE_CHECKING:
    from conftest import FakeClock


def fake_daemon(auth: AdminAuth) -> httpx.MockTransport:
    """The two admin routes as the router will wire them: envelope in, envelope out."""

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            if request.url.path == "/api/v1/admin/challenge":
                data = auth.issue_challenge().to_data()
            elif request.url.path == "/api/v1/admin/session":
                body = json.loads(request.content)
                data = auth.open_session(body["nonce"], body["proof"]).to_data()
            else:
                return httpx.Response(404, json={"status": "error", "error": {"code": "nf"}})
        except AdminAuthError as exc:
            error = {"code": exc.code, "message": exc.message}
            return httpx.Response(401, json={"status": "error", "error": error})
        return httpx.Response(200, json={"status": "success", "data": data})

    return httpx.MockTransport(handle)


def client_for(auth: AdminAuth) -> httpx.Client:
    return httpx.Client(transport=fake_daemon(auth), base_url="http://127.0.0.1:8765")


def test_cli_proof_is_accepted_by_daemon(
    auth: AdminAuth, password: str, secret: StoredSecret
) -> None:
    challenge = auth.issue_challenge()

    token = auth.open_session(challenge.nonce, compute_proof(password, challenge.to_data()))

    assert auth.verify_token(token.value)


def test_login_returns_token_daemon_accepts(auth: AdminAuth, password: str) -> None:
    with client_for(auth) as client:
        token = login(client, password)

    assert auth.verify_token(token)


def test_login_wrong_password_raises_with_daemon_message(auth: AdminAuth) -> None:
    with client_for(auth) as client, pytest.raises(AuthError) as failed:
        login(client, "Wrong-Password-99")

    assert failed.value.message == "wrong password"
    assert failed.value.code == "auth_failed"


def test_login_when_no_password_set(clock: FakeClock) -> None:
    with client_for(AdminAuth(lambda: None, now=clock)) as client, pytest.raises(AuthError) as e:
        login(client, "Anything-at-all-1")

    assert "run risk-admin set-password" in e.value.message


def test_login_picks_up_password_set_while_daemon_runs(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "secrets" / "admin.json"
    auth = AdminAuth.from_file(path, now=clock)
    with client_for(auth) as client:
        with pytest.raises(AuthError):
            login(client, "Set-it-later-1")

        save_secret(path, hash_password("Set-it-later-1", n=2**10))

        assert auth.verify_token(login(client, "Set-it-later-1"))


def test_login_daemon_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    client = httpx.Client(transport=transport, base_url="http://127.0.0.1:1")
    with client, pytest.raises(AuthError, match="cannot reach the daemon"):
        login(client, "Whatever-pass-1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(200, json=["not", "an", "envelope"]),
        httpx.Response(200, json={"status": "success", "data": {"nonce": "zz"}}),
        httpx.Response(401, json={"status": "error"}),
    ],
)
def test_login_bad_replies_raise_auth_error(response: httpx.Response) -> None:
    transport = httpx.MockTransport(lambda request: response)
    client = httpx.Client(transport=transport, base_url="http://127.0.0.1:1")
    with client, pytest.raises(AuthError):
        login(client, "Whatever-pass-1")


def test_compute_proof_refuses_memory_bomb_params() -> None:
    challenge = {"nonce": "00" * 32, "salt": "00" * 16, "n": 2**30, "r": 8, "p": 1, "dklen": 32}

    with pytest.raises(AuthError, match="memory"):
        compute_proof("Whatever-pass-1", challenge)


def test_read_password_prefers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(admin_auth.PASSWORD_ENV, "From-the-env-1")
    monkeypatch.setattr(admin_auth.getpass, "getpass", pytest.fail)

    assert read_password(prompt=True) == "From-the-env-1"


def test_read_password_prompts_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(admin_auth.PASSWORD_ENV, raising=False)
    monkeypatch.setattr(admin_auth.getpass, "getpass", lambda prompt: "Typed-secret-1")

    assert read_password(prompt=True) == "Typed-secret-1"


def test_read_password_without_prompt_or_env_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(admin_auth.PASSWORD_ENV, raising=False)

    with pytest.raises(AuthError, match=admin_auth.PASSWORD_ENV):
        read_password(prompt=False)


def test_read_new_password_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(admin_auth.PASSWORD_ENV, raising=False)
    answers = iter(["First-typed-1", "Second-typed-2"])
    monkeypatch.setattr(admin_auth.getpass, "getpass", lambda prompt: next(answers))

    with pytest.raises(AuthError, match="differ"):
        read_new_password(prompt=True)
