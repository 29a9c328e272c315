"""The CLI half: login over HTTP against AdminAuth, impostor defences, password input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from cli import admin_auth
from cli.admin_auth import AuthError, login, read_new_password, read_password
from risk_manager.auth import AdminAuth, AdminAuthError, AuthSettings
from risk_manager.auth.passwords import StoredSecret, hash_password, save_secret

if TYPE_CHECKING:
    from conftest import FakeClock


@pytest.fixture(scope="module")
def real_secret(password: str) -> StoredSecret:
    """At the default iteration count: the CLI refuses anything cheaper."""
    return hash_password(password)


@pytest.fixture
def real_auth(real_secret: StoredSecret, clock: FakeClock) -> AdminAuth:
    return AdminAuth(lambda: real_secret, now=clock)


def envelope(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


def fake_daemon(auth: AdminAuth, seen: list[str] | None = None) -> httpx.MockTransport:
    """The two login routes as the router wires them: envelope in, envelope out."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request.url.path)
        body = json.loads(request.content)
        try:
            if request.url.path == "/api/v1/admin/challenge":
                return envelope(auth.issue_challenge(body["client_first"]).to_data())
            return envelope(auth.open_session(body["client_final"]).to_data())
        except AdminAuthError as exc:
            error = {"code": exc.code, "message": exc.message}
            return httpx.Response(401, json={"status": "error", "error": error})

    return httpx.MockTransport(handle)


def client_for(transport: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=transport, base_url="http://127.0.0.1:8765")


def test_login_returns_token_daemon_accepts(real_auth: AdminAuth, password: str) -> None:
    with client_for(fake_daemon(real_auth)) as client:
        token = login(client, password)

    assert real_auth.verify_token(token)


def test_login_wrong_password_raises_with_daemon_message(real_auth: AdminAuth) -> None:
    with client_for(fake_daemon(real_auth)) as client, pytest.raises(AuthError) as failed:
        login(client, "Wrong-Password-99")

    assert failed.value.message == "wrong password"
    assert failed.value.code == "auth_failed"


def test_cheap_iteration_count_refused_before_any_proof_is_sent(
    secret: StoredSecret, password: str, clock: FakeClock
) -> None:
    """A daemon (or impostor) asking for 4096 iterations never receives a proof."""
    seen: list[str] = []
    auth = AdminAuth(lambda: secret, now=clock)

    with client_for(fake_daemon(auth, seen)) as client, pytest.raises(AuthError) as refused:
        login(client, password)

    assert "asks for 4096 PBKDF2 iterations" in refused.value.message
    assert seen == ["/api/v1/admin/challenge"]


def test_wrong_server_signature_refused_and_token_not_used(
    real_auth: AdminAuth, password: str
) -> None:
    def forge(request: httpx.Request) -> httpx.Response:
        reply = fake_daemon(real_auth).handle_request(request)
        if request.url.path.endswith("/session"):
            data = reply.json()["data"] | {
                "server_final": "v=" + base64.b64encode(b"x" * 32).decode()
            }
            return envelope(data)
        return reply

    with client_for(httpx.MockTransport(forge)) as client, pytest.raises(AuthError) as refused:
        login(client, password)

    assert "server signature is wrong" in refused.value.message


def test_penalty_wait_is_announced_and_slept(
    real_secret: StoredSecret, password: str, clock: FakeClock
) -> None:
    auth = AdminAuth(lambda: real_secret, now=clock, settings=AuthSettings(free_failures=0))
    with client_for(fake_daemon(auth)) as client:
        with pytest.raises(AuthError):
            login(client, "Wrong-Password-99")
        told: list[int] = []

        token = login(client, password, on_wait=told.append, sleep=clock.advance)

    assert told == [1]
    assert auth.verify_token(token)


@pytest.mark.parametrize("wait", [-1, 121, 1.5, True, "5"])
def test_unreasonable_wait_refused(real_auth: AdminAuth, wait: object, password: str) -> None:
    def stall(request: httpx.Request) -> httpx.Response:
        data = fake_daemon(real_auth).handle_request(request).json()["data"]
        return envelope(data | {"wait": wait})

    with client_for(httpx.MockTransport(stall)) as client, pytest.raises(AuthError, match="wait"):
        login(client, password, sleep=pytest.fail)


def test_login_when_no_password_set(clock: FakeClock) -> None:
    auth = AdminAuth(lambda: None, now=clock)
    with client_for(fake_daemon(auth)) as client, pytest.raises(AuthError) as failed:
        login(client, "Anything-at-all-1")

    assert "run risk-admin set-password" in failed.value.message


def test_password_not_read_when_none_is_set_or_daemon_down(clock: FakeClock) -> None:
    """Nobody types a password for a daemon that has none set, or is not there."""
    auth = AdminAuth(lambda: None, now=clock)
    with client_for(fake_daemon(auth)) as client, pytest.raises(AuthError, match="set-password"):
        login(client, pytest.fail)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with client_for(httpx.MockTransport(refuse)) as client, pytest.raises(AuthError):
        login(client, pytest.fail)


def test_slow_typing_asks_for_a_fresh_challenge(
    real_auth: AdminAuth, clock: FakeClock, password: str
) -> None:
    """The first challenge expired while the password was typed: a second one is used."""
    seen: list[str] = []

    def typed_slowly() -> str:
        clock.advance(real_auth.settings.nonce_ttl + 5)
        return password

    with client_for(fake_daemon(real_auth, seen)) as client:
        token = login(client, typed_slowly, clock=clock)

    assert real_auth.verify_token(token)
    assert seen == ["/api/v1/admin/challenge"] * 2 + ["/api/v1/admin/session"]


def test_login_picks_up_password_set_while_daemon_runs(
    tmp_path: Path, clock: FakeClock, real_secret: StoredSecret, password: str
) -> None:
    path = tmp_path / "secrets" / "admin.json"
    auth = AdminAuth.from_file(path, now=clock)
    with client_for(fake_daemon(auth)) as client:
        with pytest.raises(AuthError):
            login(client, password)

        save_secret(path, real_secret)

        assert auth.verify_token(login(client, password))


def test_login_daemon_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with client_for(transport) as client, pytest.raises(AuthError, match="cannot reach"):
        login(client, "Whatever-pass-1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(200, json=["not", "an", "envelope"]),
        httpx.Response(200, json={"status": "success", "data": {"server_first": "zz"}}),
        envelope({"mechanism": "SCRAM-SHA-256", "server_first": "r=foreign,s=AAAA,i=600000"}),
        httpx.Response(401, json={"status": "error"}),
    ],
)
def test_login_bad_replies_raise_auth_error(response: httpx.Response) -> None:
    transport = httpx.MockTransport(lambda request: response)
    with client_for(transport) as client, pytest.raises(AuthError):
        login(client, "Whatever-pass-1")


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
