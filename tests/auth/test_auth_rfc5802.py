"""The daemon's SCRAM-SHA-256 server against RFC 5802 / RFC 7677: vectors, formats, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from scramp import ScramException, ScramMechanism

from risk_manager.auth import AdminAuth, AuthFailed, scram
from risk_manager.auth.passwords import StoredSecret
from tests.scram_client import InProcess, scram_client


def test_rfc_7677_example_exchange_verifies() -> None:
    """RFC 7677 §3: user "user", password "pencil"; our proof check gives its ServerSignature."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    _, stored_key, server_key, _ = ScramMechanism("SCRAM-SHA-256").make_auth_info(
        "pencil", iteration_count=4096, salt=salt
    )
    secret = StoredSecret(salt, 4096, stored_key, server_key)
    client_nonce, server_nonce = "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    without_proof = f"c=biws,r={client_nonce}{server_nonce}"
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    final = scram.ClientFinal("n,,", client_nonce, server_nonce, without_proof, proof)
    wrong = scram.ClientFinal("n,,", client_nonce, server_nonce, without_proof, bytes(32))

    assert scram.server_first(final.nonce, secret) == (
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert scram.check_proof(secret, final, user="user") == (
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    )
    assert scram.check_proof(secret, wrong, user="user") is None
    assert scram.check_proof(secret, final, user="admin") is None  # the user is in the message


@pytest.mark.parametrize(
    ("client_first", "reason", "rfc_error"),
    [
        ("", "bad_request", "other-error"),
        ("garbage", "bad_request", "other-error"),
        ("n,,n=admin", "bad_request", "other-error"),
        ("n,,n=admin,r=", "bad_request", "other-error"),
        ("n,,r=abc,n=admin", "bad_request", "other-error"),
        ("x,,n=admin,r=abc", "bad_request", "other-error"),
        ("n,a=admin,n=admin,r=abc", "bad_request", "other-error"),  # no authzid
        ("n,,n=admin,r=ab,cd", "bad_request", "other-error"),
        ("n,,n=admin,r=" + "a" * 257, "bad_request", "other-error"),
        ("n,,n=admin,r=a\x7fb", "bad_request", "other-error"),
        ("p=tls-unique,,n=admin,r=abc", "channel_binding_unsupported",
         "channel-binding-not-supported"),
        ("n,,m=ext,n=admin,r=abc", "extensions", "extensions-not-supported"),
        ("n,,n=admin,r=abc,x=1", "extensions", "extensions-not-supported"),
        ("n,,n=ad=min,r=abc", "bad_username", "invalid-username-encoding"),
        ("n,,n=root,r=abc", "unknown_user", "unknown-user"),
        ("n,,n=admin=2C,r=abc", "unknown_user", "unknown-user"),
        ("n,,n=,r=abc", "unknown_user", "unknown-user"),
    ],
)  # fmt: skip
def test_client_first_refusals_are_specific_and_not_counted(
    auth: AdminAuth, client_first: str, reason: str, rfc_error: str
) -> None:
    with pytest.raises(AuthFailed) as failed:
        auth.issue_challenge(client_first)

    assert (failed.value.reason, failed.value.scram_error) == (reason, rfc_error)
    assert auth.status()["failures"] == 0


@pytest.mark.parametrize("flag", ["n", "y"])
def test_both_gs2_flags_without_channel_binding_log_in(
    auth: AdminAuth, password: str, secret: StoredSecret, flag: str
) -> None:
    """'y,,' (client could bind, thinks we cannot) is as valid as 'n,,'; c= repeats it."""
    bare = "n=admin,r=fyko+d2lbbFgONRv9qkxdawL"
    challenge = auth.issue_challenge(f"{flag},,{bare}")
    nonce = challenge.server_first.split(",")[0][2:]
    binding = base64.b64encode(f"{flag},,".encode()).decode()
    without_proof = f"c={binding},r={nonce}"
    auth_message = f"{bare},{challenge.server_first},{without_proof}".encode()

    session = auth.open_session(f"{without_proof},p={_proof(password, secret, auth_message)}")

    assert auth.verify_token(session.value)


def test_c_attribute_must_repeat_the_first_gs2_header(auth: AdminAuth, password: str) -> None:
    """Sent 'y,,' first and 'n,,' (c=biws) in the final message: RFC 5802 says fail."""
    client = scram_client(password)
    challenge = auth.issue_challenge("y" + client.get_client_first()[1:])
    client.set_server_first(challenge.server_first)

    with pytest.raises(AuthFailed) as failed:
        auth.open_session(client.get_client_final())

    assert failed.value.scram_error == "channel-bindings-dont-match"
    assert auth.status()["failures"] == 0


@pytest.mark.parametrize(
    ("client_final", "rfc_error"),
    [
        ("", "other-error"),
        ("c=biws", "other-error"),
        ("r=abc,c=biws,p=AAAA", "other-error"),
        ("c=bi!s,r=abc,p=AAAA", "invalid-encoding"),
        ("c=biws,r=abc,p=AAA", "invalid-encoding"),
        ("c=cD10bHMtdW5pcXVlLCw=,r=abc,p=AAAA", "channel-bindings-dont-match"),  # p=tls-unique,,
        ("c=biws,r=abc,x=1,p=AAAA", "extensions-not-supported"),
        ("c=biws,r=" + "ab" * 40 + ",p=AAAA", "other-error"),  # not a nonce we issued
    ],
)
def test_client_final_refusals_name_the_rfc_error(
    auth: AdminAuth, client_final: str, rfc_error: str
) -> None:
    with pytest.raises(AuthFailed) as failed:
        auth.open_session(client_final)

    assert failed.value.scram_error == rfc_error
    assert auth.status()["failures"] == 0


def test_a_scramp_client_reads_the_error_as_a_server_final(auth: AdminAuth) -> None:
    exchange = InProcess(auth, "Not-The-Password-1")
    with pytest.raises(AuthFailed) as failed:
        auth.open_session(exchange.client_final)

    with pytest.raises(ScramException, match="invalid-proof"):
        exchange.client.set_server_final(f"e={failed.value.scram_error}")


def test_server_nonce_accepts_only_the_spelling_issued(auth: AdminAuth, password: str) -> None:
    """'+' decodes like '-' in lenient base64url; a respelled nonce is not ours."""
    exchange = InProcess(auth, password)
    nonce = exchange.challenge.server_first.split(",")[0][2:]
    server_nonce = nonce[-scram.SERVER_NONCE_CHARS :]
    respelled = server_nonce.replace("-", "+").replace("_", "/")
    if respelled == server_nonce:
        respelled = "+" + server_nonce[1:]  # no '-' or '_' this time: any foreign character

    assert scram.NonceSeal().open("n,,", "c", respelled) is None
    with pytest.raises(AuthFailed) as failed:
        auth.open_session(exchange.client_final.replace(server_nonce, respelled, 1))
    assert failed.value.reason == "unknown_nonce"


def _proof(password: str, secret: StoredSecret, auth_message: bytes) -> str:
    """RFC 5802 §3 ClientProof, computed here from the password (independent of scramp)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), secret.salt, secret.iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return base64.b64encode(proof).decode()
