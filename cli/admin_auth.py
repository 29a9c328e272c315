"""Client side of the admin handshake: read the password, answer the challenge, get a token.

Talks HTTP only. The proof formula mirrors risk_manager/auth/session.py:
    K     = scrypt(NFC(password) as UTF-8, salt, n, r, p, dklen)
    proof = hex(HMAC-SHA256(key=K, msg=bytes.fromhex(nonce)))
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import unicodedata
from typing import Any

import httpx

PASSWORD_ENV = "RISK_MANAGER_ADMIN_PASSWORD"  # noqa: S105 - the variable name, not a password
CHALLENGE_PATH = "/api/v1/admin/challenge"
SESSION_PATH = "/api/v1/admin/session"
# The daemon chooses the scrypt cost; refuse absurd values so a bad reply cannot exhaust memory.
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024


class AuthError(Exception):
    """Admin login failed; `message` is fit to show the user, `code` is the API code if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def read_password(prompt: bool) -> str:
    """The admin password from $RISK_MANAGER_ADMIN_PASSWORD, else typed without echo."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if not prompt:
        raise AuthError(f"no admin password: set {PASSWORD_ENV} or run interactively")
    password = getpass.getpass("Admin password: ")
    if not password:
        raise AuthError("no admin password entered")
    return password


def read_new_password(prompt: bool) -> str:
    """A new admin password from the environment, else typed twice without echo."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if not prompt:
        raise AuthError(f"no new admin password: set {PASSWORD_ENV} or run interactively")
    first = getpass.getpass("New admin password: ")
    if first != getpass.getpass("Repeat new admin password: "):
        raise AuthError("the two passwords differ")
    return first


def compute_proof(password: str, challenge: dict[str, Any]) -> str:
    """hex(HMAC-SHA256(scrypt(password, salt, n, r, p, dklen), raw nonce bytes))."""
    try:
        nonce = bytes.fromhex(challenge["nonce"])
        salt = bytes.fromhex(challenge["salt"])
        n, r, p, dklen = (int(challenge[k]) for k in ("n", "r", "p", "dklen"))
    except (KeyError, TypeError, ValueError) as exc:
        raise AuthError(f"malformed challenge from daemon: {exc!r}") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or not 16 <= dklen <= 64:
        raise AuthError("daemon sent unsupported scrypt parameters")
    if 128 * n * r > _MAX_SCRYPT_MEMORY:
        raise AuthError("daemon sent scrypt parameters needing too much memory")
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    key = hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)
    return hmac.new(key, nonce, hashlib.sha256).hexdigest()


def login(client: httpx.Client, password: str) -> str:
    """Run the challenge/session handshake over `client` and return the bearer token."""
    challenge = _post(client, CHALLENGE_PATH, {})
    proof = compute_proof(password, challenge)
    session = _post(client, SESSION_PATH, {"nonce": challenge.get("nonce"), "proof": proof})
    token = session.get("token")
    if not isinstance(token, str) or not token:
        raise AuthError("daemon reply has no token")
    return token


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.post(path, json=body)
    except httpx.HTTPError as exc:
        raise AuthError(f"cannot reach the daemon: {exc}") from exc
    try:
        envelope = response.json()
    except ValueError:
        raise AuthError(f"unexpected reply from daemon (HTTP {response.status_code})") from None
    if not isinstance(envelope, dict):
        raise AuthError(f"unexpected reply from daemon (HTTP {response.status_code})")
    if envelope.get("status") == "success" and isinstance(envelope.get("data"), dict):
        return envelope["data"]
    error = envelope.get("error")
    if isinstance(error, dict) and error.get("message"):
        raise AuthError(str(error["message"]), code=error.get("code"))
    raise AuthError(f"admin login failed (HTTP {response.status_code})")
