"""Client side of the admin handshake: read the password, run SCRAM-SHA-256, get a token.

Talks HTTP only. Whatever answers on the port is not trusted until it proves it holds the
verifier: the iteration count it asks for is checked *before* any proof is computed or sent (a
fake daemon asking for a cheap count could brute-force the proof offline), and its server
signature is checked before the token is used.
"""

from __future__ import annotations

import getpass
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
from scramp import ScramClient, ScramException

from risk_manager.auth.passwords import MAX_ITERATIONS, MECHANISM, MIN_CLIENT_ITERATIONS
from risk_manager.auth.penalty import MAX_WAIT_SECONDS

PASSWORD_ENV = "RISK_MANAGER_ADMIN_PASSWORD"  # noqa: S105 - the variable name, not a password
CHALLENGE_PATH = "/api/v1/admin/challenge"
SESSION_PATH = "/api/v1/admin/session"
USERNAME = "admin"


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


def login(
    client: httpx.Client,
    password: str | Callable[[], str],
    *,
    on_wait: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Run the SCRAM exchange over `client` and return the bearer token of a verified daemon.

    `password` may be a callable that reads it: it is called only once the daemon has answered
    the first challenge, so nobody types a password for a daemon that is down or has none set.
    `on_wait(seconds)` is told when the daemon's penalty makes the challenge wait.
    """
    nonce = secrets.token_urlsafe(24)  # URL-safe base64 has no ',' (RFC 5802 printable)
    asked_at = clock()
    challenge = _post(client, CHALLENGE_PATH, {"client_first": f"n,,n={USERNAME},r={nonce}"})
    if callable(password):
        password = password()
        expires_in = challenge.get("expires_in")
        if isinstance(expires_in, int | float) and clock() - asked_at > expires_in - 1:
            # Typing took longer than the challenge lives: ask again, the password is known now.
            nonce = secrets.token_urlsafe(24)
            challenge = _post(
                client, CHALLENGE_PATH, {"client_first": f"n,,n={USERNAME},r={nonce}"}
            )
    try:
        scram = ScramClient([MECHANISM], USERNAME, password, c_nonce=nonce)
    except ScramException as exc:  # SASLprep refuses some characters; set-password does too
        raise AuthError(f"this password cannot be used: {exc}") from None
    scram.get_client_first()  # moves the client to the state that accepts the server-first
    server_first, wait = _read_challenge(challenge)
    _check_iterations(server_first)  # before anything is derived from the password
    try:
        scram.set_server_first(server_first)
    except ScramException as exc:
        raise AuthError(f"daemon sent an invalid challenge: {exc}") from None
    if wait:
        if on_wait is not None:
            on_wait(wait)
        sleep(wait)
    session = _post(client, SESSION_PATH, {"client_final": scram.get_client_final()})
    try:
        scram.set_server_final(str(session.get("server_final")))
    except ScramException:
        raise AuthError(
            "the daemon's server signature is wrong: the program on this port does not hold "
            "the admin verifier (an impostor?); not using its token"
        ) from None
    token = session.get("token")
    if not isinstance(token, str) or not token:
        raise AuthError("daemon reply has no token")
    return token


def _check_iterations(server_first: str) -> None:
    """Refuse a cost outside our bounds: no proof ever leaves for such a server."""
    count = next((a[2:] for a in server_first.split(",") if a.startswith("i=")), "")
    if not count.isascii() or not count.isdigit():
        raise AuthError("daemon sent a challenge without an iteration count")
    iterations = int(count)
    if not MIN_CLIENT_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise AuthError(
            f"refusing the daemon's challenge: it asks for {iterations} PBKDF2 iterations, "
            f"outside {MIN_CLIENT_ITERATIONS}..{MAX_ITERATIONS}; the program on this port may "
            "not be the risk manager daemon, or its password file is not one set-password writes"
        )


def _read_challenge(data: dict[str, Any]) -> tuple[str, int]:
    server_first, wait = data.get("server_first"), data.get("wait", 0)
    if data.get("mechanism") != MECHANISM or not isinstance(server_first, str):
        raise AuthError(f"daemon did not answer with a {MECHANISM} challenge")
    # The daemon's penalty never asks for more; a longer wait is not our daemon.
    if not isinstance(wait, int) or isinstance(wait, bool) or not 0 <= wait <= MAX_WAIT_SECONDS:
        raise AuthError(f"daemon asked for an unreasonable wait: {wait!r}")
    return server_first, wait


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
