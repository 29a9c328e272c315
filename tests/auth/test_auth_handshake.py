"""Challenge -> proof -> token, with a fake clock."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import pytest
from loguru import logger

from risk_manager.auth import AdminAuth, AuthFailed, AuthSettings, Challenge, NotConfigured
from risk_manager.auth.passwords import StoredSecret, hash_password

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeClock


def prove(secret: StoredSecret, challenge: Challenge) -> str:
    return hmac.new(secret.key, bytes.fromhex(challenge.nonce), hashlib.sha256).hexdigest()


def test_good_handshake_then_token_verifies(auth: AdminAuth, secret: StoredSecret) -> None:
    challenge = auth.issue_challenge()

    token = auth.open_session(challenge.nonce, prove(secret, challenge))

    assert auth.verify_token(token.value)
    assert token.expires_in == 900.0
    assert token.to_data() == {"token": token.value, "token_type": "bearer", "expires_in": 900.0}


def test_challenge_carries_salt_params_and_default_ttl(
    auth: AdminAuth, secret: StoredSecret
) -> None:
    data = auth.issue_challenge().to_data()

    assert len(bytes.fromhex(data["nonce"])) == 32
    assert data["salt"] == secret.salt.hex()
    assert (data["n"], data["r"], data["p"], data["dklen"]) == (2**10, 8, 1, 32)
    assert data["expires_in"] == 30.0


def test_nonces_are_unique(auth: AdminAuth) -> None:
    nonces = {auth.issue_challenge().nonce for _ in range(50)}

    assert len(nonces) == 50


def test_replayed_nonce_refused_even_with_right_proof(
    auth: AdminAuth, secret: StoredSecret
) -> None:
    challenge = auth.issue_challenge()
    proof = prove(secret, challenge)
    auth.open_session(challenge.nonce, proof)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, proof)

    assert failed.value.reason == "replayed_nonce"


def test_nonce_consumed_by_wrong_proof(auth: AdminAuth, secret: StoredSecret) -> None:
    challenge = auth.issue_challenge()
    with pytest.raises(AuthFailed):
        auth.open_session(challenge.nonce, "00" * 32)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, prove(secret, challenge))

    assert failed.value.reason == "replayed_nonce"


def test_expired_nonce_refused(auth: AdminAuth, secret: StoredSecret, clock: FakeClock) -> None:
    challenge = auth.issue_challenge()
    clock.advance(30.0)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, prove(secret, challenge))

    assert failed.value.reason == "expired_nonce"


def test_nonce_just_before_expiry_accepted(
    auth: AdminAuth, secret: StoredSecret, clock: FakeClock
) -> None:
    challenge = auth.issue_challenge()
    clock.advance(29.9)

    assert auth.verify_token(auth.open_session(challenge.nonce, prove(secret, challenge)).value)


def test_forged_proof_refused(auth: AdminAuth, secret: StoredSecret) -> None:
    challenge = auth.issue_challenge()
    wrong = hash_password("Another-Password-7", n=2**10)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, prove(wrong, challenge))

    assert failed.value.reason == "bad_proof"
    assert failed.value.code == "auth_failed"


@pytest.mark.parametrize("proof", ["", "zz" * 32, "ab" * 31, "ab" * 33, "é" * 64])
def test_malformed_proof_refused(auth: AdminAuth, proof: str) -> None:
    challenge = auth.issue_challenge()

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, proof)

    assert failed.value.reason == "bad_proof"


def test_uppercase_hex_proof_accepted(auth: AdminAuth, secret: StoredSecret) -> None:
    challenge = auth.issue_challenge()

    token = auth.open_session(challenge.nonce, prove(secret, challenge).upper())

    assert auth.verify_token(token.value)


@pytest.mark.parametrize("nonce", ["00" * 32, "", "not hex", "ab" * 31, "é" * 64])
def test_unknown_nonce_refused(auth: AdminAuth, nonce: str) -> None:
    with pytest.raises(AuthFailed) as failed:
        auth.open_session(nonce, "00" * 32)

    assert failed.value.reason == "unknown_nonce"


def test_token_expires(auth: AdminAuth, secret: StoredSecret, clock: FakeClock) -> None:
    challenge = auth.issue_challenge()
    token = auth.open_session(challenge.nonce, prove(secret, challenge))

    clock.advance(899.0)
    assert auth.verify_token(token.value)
    clock.advance(1.0)
    assert not auth.verify_token(token.value)


def test_unknown_and_empty_tokens_refused(auth: AdminAuth) -> None:
    assert not auth.verify_token("")
    assert not auth.verify_token("made-up-token")


def test_revoke_all_ends_sessions(auth: AdminAuth, secret: StoredSecret) -> None:
    challenge = auth.issue_challenge()
    token = auth.open_session(challenge.nonce, prove(secret, challenge))

    auth.revoke_all()

    assert not auth.verify_token(token.value)
    assert auth.status()["active_sessions"] == 0


def test_nonce_cap_evicts_oldest(make_auth: Callable[..., AdminAuth], secret: StoredSecret) -> None:
    auth = make_auth(max_nonces=3)
    oldest = auth.issue_challenge()
    newer = [auth.issue_challenge() for _ in range(3)]

    assert auth.status()["outstanding_nonces"] == 3
    with pytest.raises(AuthFailed) as failed:
        auth.open_session(oldest.nonce, prove(secret, oldest))
    assert failed.value.reason == "unknown_nonce"
    assert auth.verify_token(auth.open_session(newer[0].nonce, prove(secret, newer[0])).value)


def test_flood_of_challenges_stays_bounded(make_auth: Callable[..., AdminAuth]) -> None:
    auth = make_auth(max_nonces=16)

    for _ in range(1000):
        auth.issue_challenge()

    assert auth.status()["outstanding_nonces"] == 16


def test_expired_nonces_are_purged(auth: AdminAuth, clock: FakeClock) -> None:
    for _ in range(5):
        auth.issue_challenge()
    clock.advance(31.0)

    assert auth.status()["outstanding_nonces"] == 0


def test_challenge_without_password_is_not_configured(clock: FakeClock) -> None:
    auth = AdminAuth(lambda: None, now=clock)

    with pytest.raises(NotConfigured) as missing:
        auth.issue_challenge()

    assert missing.value.message == "no admin password set; run risk-admin set-password"
    assert missing.value.code == "admin_not_configured"


def test_password_change_revokes_tokens(secret: StoredSecret, clock: FakeClock) -> None:
    current = {"secret": secret}
    auth = AdminAuth(lambda: current["secret"], now=clock)
    challenge = auth.issue_challenge()
    token = auth.open_session(challenge.nonce, prove(secret, challenge))

    current["secret"] = hash_password("A-New-Password-9", n=2**10)

    assert not auth.verify_token(token.value)


def test_password_removed_revokes_tokens(secret: StoredSecret, clock: FakeClock) -> None:
    current: dict[str, StoredSecret | None] = {"secret": secret}
    auth = AdminAuth(lambda: current["secret"], now=clock)
    challenge = auth.issue_challenge()
    token = auth.open_session(challenge.nonce, prove(secret, challenge))

    current["secret"] = None

    assert not auth.verify_token(token.value)


@pytest.mark.parametrize("ttl", [0.0, -1.0, 61.0])
def test_nonce_ttl_must_be_within_a_minute(ttl: float) -> None:
    with pytest.raises(ValueError, match="nonce_ttl"):
        AuthSettings(nonce_ttl=ttl)


def test_logs_never_contain_proof_or_token(
    make_auth: Callable[..., AdminAuth], secret: StoredSecret
) -> None:
    auth = make_auth(max_failures=2)
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message} {extra}")
    try:
        good = auth.issue_challenge()
        good_proof = prove(secret, good)
        token = auth.open_session(good.nonce, good_proof)
        bad = auth.issue_challenge()
        wrong = hash_password("Another-Password-7", n=2**10)
        bad_proof = prove(wrong, bad)
        for _ in range(2):
            with pytest.raises(AuthFailed):
                auth.open_session(bad.nonce, bad_proof)
    finally:
        logger.remove(sink)

    text = "\n".join(lines)
    assert "bad_proof" in text
    assert "locked" in text
    for secret_text in (good_proof, bad_proof, token.value, good.nonce, secret.key.hex()):
        assert secret_text not in text
    assert token.value not in repr(token)
