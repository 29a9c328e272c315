"""A test-side SCRAM-SHA-256 client written against scramp, independent of cli/admin_auth.py.

It skips the CLI's minimum-iteration check on purpose, so tests may store cheap verifiers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scramp import ScramClient

Post = Callable[[str, dict[str, Any]], dict[str, Any]]
CHALLENGE = "/api/v1/admin/challenge"
SESSION = "/api/v1/admin/session"


def scram_client(password: str, user: str = "admin") -> ScramClient:
    return ScramClient(["SCRAM-SHA-256"], user, password)


def login(post: Post, password: str) -> dict[str, Any]:
    """The session data after a full exchange; the server signature is verified."""
    client = scram_client(password)
    challenge = post(CHALLENGE, {"client_first": client.get_client_first()})
    client.set_server_first(challenge["server_first"])
    session = post(SESSION, {"client_final": client.get_client_final()})
    client.set_server_final(session["server_final"])
    return session


class InProcess:
    """One exchange against an AdminAuth object, step by step (tests poke between the steps)."""

    def __init__(self, auth: Any, password: str, user: str = "admin") -> None:
        self.auth = auth
        self.client = scram_client(password, user)
        self.challenge = auth.issue_challenge(self.client.get_client_first())
        self.client.set_server_first(self.challenge.server_first)
        self.client_final: str = self.client.get_client_final()

    def finish(self) -> Any:
        """The Session; the server signature is verified like the CLI does."""
        session = self.auth.open_session(self.client_final)
        self.client.set_server_final(session.server_final)
        return session
