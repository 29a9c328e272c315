"""Property tests: only the right proof opens a session; the CLI and the daemon always agree."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.auth import AdminAuth, AuthFailed, AuthSettings, scram
from risk_manager.auth.passwords import hash_password
from tests.scram_client import InProcess

SECRET = hash_password("Property-Password-1", iterations=4096)
# No penalty wait ever, so hundreds of wrong proofs run back to back.
NO_PENALTY = AuthSettings(free_failures=10**9)


def fresh_auth() -> AdminAuth:
    return AdminAuth(lambda: SECRET, now=lambda: 0.0, settings=NO_PENALTY)


@given(proof=st.binary(min_size=1, max_size=64))
def test_any_other_proof_fails(proof: bytes) -> None:
    auth = fresh_auth()
    exchange = InProcess(auth, "Property-Password-1")
    head, right = exchange.client_final.rsplit(",p=", 1)
    forged = base64.b64encode(proof).decode()
    if forged == right:
        return

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(f"{head},p={forged}")

    assert failed.value.reason == "bad_proof"


@given(client_final=st.text(max_size=200))
def test_unissued_messages_always_fail_cleanly_and_never_count(client_final: str) -> None:
    auth = fresh_auth()

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(client_final)

    assert failed.value.reason != "bad_proof"  # nothing was checked, so nothing counts
    assert auth.status()["failures"] == 0


@given(client_first=st.text(max_size=200))
def test_any_client_first_gets_a_challenge_or_a_clean_refusal(client_first: str) -> None:
    auth = fresh_auth()
    try:
        outcome = auth.issue_challenge(client_first).server_first[:2]
    except AuthFailed as failed:
        outcome = failed.scram_error

    assert outcome != "invalid-proof"  # a challenge ("r=...") or a refusal that names its reason
    assert auth.status()["failures"] == 0


@settings(max_examples=25, deadline=None)
@given(password=st.text(min_size=1, max_size=40))
def test_any_password_set_logs_in_and_only_that_one(password: str) -> None:
    try:
        secret = hash_password(password, iterations=4096)
    except ValueError:
        return  # SASLprep forbids it: set-password refuses it with this message
    auth = AdminAuth(lambda: secret, now=lambda: 0.0, settings=NO_PENALTY)

    assert auth.verify_token(InProcess(auth, password).finish().value)
    with pytest.raises(AuthFailed):
        InProcess(auth, password + "x").finish()


nonce_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=",")


@given(
    client_nonce=st.text(nonce_chars, min_size=1, max_size=64),
    start=st.floats(0, 1e9),
    wait=st.integers(0, 120),
    position=st.integers(0, 63),
)
def test_sealed_nonce_opens_only_unaltered_and_for_its_first_message(
    client_nonce: str, start: float, wait: int, position: int
) -> None:
    seal = scram.NonceSeal()
    server_nonce = seal.seal("n,,", client_nonce, start + wait, start + wait + 30)
    flipped = "A" if server_nonce[position] != "A" else "B"
    altered = server_nonce[:position] + flipped + server_nonce[position + 1 :]

    window = seal.open("n,,", client_nonce, server_nonce)

    assert len(server_nonce) == scram.SERVER_NONCE_CHARS
    assert "," not in server_nonce
    assert window is not None
    assert abs(window[0] - (start + wait)) <= 0.001
    assert abs(window[1] - (start + wait + 30)) <= 0.001
    assert seal.open("n,,", client_nonce, altered) is None
    assert seal.open("n,,", client_nonce + "x", server_nonce) is None
    assert seal.open("y,,", client_nonce, server_nonce) is None  # the GS2 header is sealed too
    assert scram.NonceSeal().open("n,,", client_nonce, server_nonce) is None  # another process
