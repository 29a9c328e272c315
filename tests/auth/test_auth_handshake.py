"""SCRAM-SHA-256 challenge -> proof -> token against AdminAuth, with a fake clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

import pytest
from loguru import logger

from risk_manager.auth import AdminAuth, AuthFailed, AuthSettings, NotConfigured
from risk_manager.auth.passwords import StoredSecret, hash_password
from tests.scram_client import InProcess, scram_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeClock

WRONG = "Another-Password-7"


def test_good_handshake_gives_token_and_a_server_signature_the_client_accepts(
    auth: AdminAuth, password: str
) -> None:
    session = InProcess(auth, password).finish()  # raises if the server signature were wrong

    assert auth.verify_token(session.value)
    assert session.expires_in == 900.0
    assert session.to_data() == {
        "server_final": session.server_final, "token": session.value,
        "token_type": "bearer", "expires_in": 900.0,
    }  # fmt: skip


def test_challenge_carries_salt_iterations_and_default_ttl(
    auth: AdminAuth, secret: StoredSecret
) -> None:
    client = scram_client("whatever")
    data = auth.issue_challenge(client.get_client_first()).to_data()

    attrs = dict(part.split("=", 1) for part in data["server_first"].split(","))
    assert data["mechanism"] == "SCRAM-SHA-256"
    assert base64.b64decode(attrs["s"]) == secret.salt
    assert int(attrs["i"]) == secret.iterations
    assert attrs["r"].startswith(str(client.c_nonce))
    assert (data["wait"], data["expires_in"]) == (0, 30.0)


def test_server_nonces_are_unique(auth: AdminAuth, password: str) -> None:
    nonces = {InProcess(auth, password).challenge.server_first for _ in range(50)}

    assert len(nonces) == 50


def test_replayed_final_message_refused_even_with_right_proof(
    auth: AdminAuth, password: str
) -> None:
    exchange = InProcess(auth, password)
    exchange.finish()

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(exchange.client_final)

    assert failed.value.reason == "replayed_nonce"


def test_exchange_consumed_by_wrong_proof(auth: AdminAuth, password: str) -> None:
    good = InProcess(auth, password)
    forged = good.client_final.rsplit("p=", 1)[0] + "p=" + base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(AuthFailed):
        auth.open_session(forged)

    with pytest.raises(AuthFailed) as failed:
        good.finish()

    assert failed.value.reason == "replayed_nonce"


def test_expired_challenge_refused(auth: AdminAuth, password: str, clock: FakeClock) -> None:
    exchange = InProcess(auth, password)
    clock.advance(30.0)

    with pytest.raises(AuthFailed) as failed:
        exchange.finish()

    assert failed.value.reason == "expired_nonce"


def test_challenge_just_before_expiry_accepted(
    auth: AdminAuth, password: str, clock: FakeClock
) -> None:
    exchange = InProcess(auth, password)
    clock.advance(29.9)

    assert auth.verify_token(exchange.finish().value)


def test_wrong_password_refused(auth: AdminAuth) -> None:
    with pytest.raises(AuthFailed) as failed:
        InProcess(auth, WRONG).finish()

    assert failed.value.reason == "bad_proof"
    assert failed.value.code == "auth_failed"


def test_stolen_secret_file_cannot_log_in(auth: AdminAuth, secret: StoredSecret) -> None:
    """Knowing StoredKey and ServerKey, build every proof they allow: none is accepted."""
    for guess in (secret.stored_key, secret.server_key, hashlib.sha256(secret.stored_key).digest()):
        client = scram_client("not-the-password")
        client_first = client.get_client_first()
        challenge = auth.issue_challenge(client_first)
        nonce = challenge.server_first.split(",")[0][2:]
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{client_first[3:]},{challenge.server_first},{without_proof}".encode()
        signature = hmac.new(secret.stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(guess, signature, strict=True))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"

        with pytest.raises(AuthFailed) as failed:
            auth.open_session(final)

        assert failed.value.reason == "bad_proof"


def test_token_expires(auth: AdminAuth, password: str, clock: FakeClock) -> None:
    session = InProcess(auth, password).finish()

    clock.advance(899.0)
    assert auth.verify_token(session.value)
    clock.advance(1.0)
    assert not auth.verify_token(session.value)


def test_unknown_and_empty_tokens_refused(auth: AdminAuth) -> None:
    assert not auth.verify_token("")
    assert not auth.verify_token("made-up-token")


def test_revoke_all_ends_sessions(auth: AdminAuth, password: str) -> None:
    session = InProcess(auth, password).finish()

    auth.revoke_all()

    assert not auth.verify_token(session.value)
    assert auth.status()["active_sessions"] == 0


def test_a_flood_of_challenges_neither_evicts_nor_blocks_the_admin(
    auth: AdminAuth, password: str
) -> None:
    admin = InProcess(auth, password)
    client_first = scram_client(WRONG).get_client_first()

    for _ in range(5000):
        auth.issue_challenge(client_first)

    assert auth.verify_token(admin.finish().value)  # the earlier challenge still works
    assert auth.verify_token(InProcess(auth, password).finish().value)  # and a new one
    assert auth.status()["answered_challenges"] == 2  # nothing kept for the unanswered


def test_server_nonce_is_bound_to_the_client_nonce(auth: AdminAuth, password: str) -> None:
    """A sealed server nonce cannot be reused with another client nonce."""
    exchange = InProcess(auth, password)
    nonce = exchange.challenge.server_first.split(",")[0][2:]
    client_nonce = str(exchange.client.c_nonce)
    grafted = exchange.client_final.replace(nonce, "x" + nonce[len(client_nonce) - 1 :], 1)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(grafted)

    assert failed.value.reason == "unknown_nonce"


def test_a_daemon_restart_voids_outstanding_challenges(
    secret: StoredSecret, password: str, clock: FakeClock
) -> None:
    exchange = InProcess(AdminAuth(lambda: secret, now=clock), password)
    restarted = AdminAuth(lambda: secret, now=clock)

    with pytest.raises(AuthFailed) as failed:
        restarted.open_session(exchange.client_final)

    assert failed.value.reason == "unknown_nonce"


def test_challenge_without_password_is_not_configured(clock: FakeClock) -> None:
    auth = AdminAuth(lambda: None, now=clock)

    with pytest.raises(NotConfigured) as missing:
        InProcess(auth, "anything")

    assert missing.value.message == "no admin password set; run risk-admin set-password"
    assert missing.value.code == "admin_not_configured"


def test_password_change_revokes_tokens_and_open_exchanges(
    secret: StoredSecret, password: str, clock: FakeClock
) -> None:
    current = {"secret": secret}
    auth = AdminAuth(lambda: current["secret"], now=clock)
    session = InProcess(auth, password).finish()
    pending = InProcess(auth, password)

    current["secret"] = hash_password("A-New-Password-9", iterations=4096)

    assert not auth.verify_token(session.value)
    with pytest.raises(AuthFailed) as failed:
        pending.finish()
    assert failed.value.reason == "unknown_nonce"


def test_password_removed_revokes_tokens(
    secret: StoredSecret, password: str, clock: FakeClock
) -> None:
    current: dict[str, StoredSecret | None] = {"secret": secret}
    auth = AdminAuth(lambda: current["secret"], now=clock)
    session = InProcess(auth, password).finish()

    current["secret"] = None

    assert not auth.verify_token(session.value)


@pytest.mark.parametrize("ttl", [0.0, -1.0, 61.0])
def test_nonce_ttl_must_be_within_a_minute(ttl: float) -> None:
    with pytest.raises(ValueError, match="nonce_ttl"):
        AuthSettings(nonce_ttl=ttl)


def test_logs_never_contain_proof_token_or_keys(
    make_auth: Callable[..., AdminAuth], password: str, secret: StoredSecret
) -> None:
    auth = make_auth(free_failures=0)
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message} {extra}")
    try:
        good = InProcess(auth, password)
        session = good.finish()
        bad = InProcess(auth, WRONG)
        with pytest.raises(AuthFailed):
            bad.finish()
    finally:
        logger.remove(sink)

    text = "\n".join(lines)
    assert "bad_proof" in text
    assert "slowed" in text
    secrets_seen = (good.client_final, bad.client_final, session.value, session.server_final)
    for secret_text in (*secrets_seen, base64.b64encode(secret.stored_key).decode()):
        assert secret_text not in text
    assert session.value not in repr(session)
