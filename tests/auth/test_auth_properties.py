"""Property tests: only the right proof opens a session; the two derivations always agree."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cli.admin_auth import compute_proof
from risk_manager.auth import AdminAuth, AuthFailed, AuthSettings
from risk_manager.auth.passwords import hash_password

SECRET = hash_password("Property-Password-1", n=2**4)
# A huge threshold so hundreds of wrong proofs never trip the lock mid-run.
NO_LOCK = AuthSettings(max_failures=10**9)


def fresh_auth() -> AdminAuth:
    return AdminAuth(lambda: SECRET, now=lambda: 0.0, settings=NO_LOCK)


proofs = st.one_of(st.text(max_size=80), st.binary(min_size=32, max_size=32).map(bytes.hex))


@given(proof=proofs)
def test_any_other_proof_fails(proof: str) -> None:
    auth = fresh_auth()
    challenge = auth.issue_challenge()
    right = hmac.new(SECRET.key, bytes.fromhex(challenge.nonce), hashlib.sha256).digest()
    with contextlib.suppress(ValueError):  # not hex at all: certainly not the right proof
        assume(bytes.fromhex(proof) != right)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(challenge.nonce, proof)

    assert failed.value.reason == "bad_proof"


@given(nonce=st.text(max_size=80), proof=st.text(max_size=80))
def test_unissued_nonces_always_fail_cleanly(nonce: str, proof: str) -> None:
    auth = fresh_auth()

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(nonce, proof)

    assert failed.value.reason == "unknown_nonce"


@settings(max_examples=30, deadline=None)
@given(password=st.text(min_size=1, max_size=40))
def test_cli_and_daemon_derivations_agree(password: str) -> None:
    secret = hash_password(password, n=2**4)
    auth = AdminAuth(lambda: secret, now=lambda: 0.0)
    challenge = auth.issue_challenge()

    token = auth.open_session(challenge.nonce, compute_proof(password, challenge.to_data()))

    assert auth.verify_token(token.value)
