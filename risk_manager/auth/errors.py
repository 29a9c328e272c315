"""Admin-auth errors, named by the reaction they need; `code` is the stable API error code."""

from __future__ import annotations

from typing import Literal

FailureReason = Literal[
    "bad_request",
    "unknown_nonce",
    "expired_nonce",
    "replayed_nonce",
    "bad_proof",
]

_REASON_MESSAGES: dict[str, str] = {
    "bad_request": "not a SCRAM-SHA-256 message for user 'admin'",
    "unknown_nonce": "unknown challenge nonce; request a new challenge",
    "expired_nonce": "challenge expired; request a new challenge",
    "replayed_nonce": "challenge already used; request a new challenge",
    "bad_proof": "wrong password",
}


class AdminAuthError(Exception):
    """Base class: admin authentication cannot proceed."""

    code = "admin_auth_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConfigured(AdminAuthError):
    """No admin password has been set: a human must run `risk-admin set-password`."""

    code = "admin_not_configured"

    def __init__(self) -> None:
        super().__init__("no admin password set; run risk-admin set-password")


class SecretFileError(AdminAuthError):
    """The admin secret file exists but cannot be used: a human must set the password again."""

    code = "admin_secret_corrupt"

    def __init__(self, path: object, reason: str, message: str | None = None) -> None:
        super().__init__(
            message
            or f"admin secret file {path} is unusable ({reason}); run risk-admin set-password"
        )
        self.path = path
        self.reason = reason


class OutdatedSecret(SecretFileError):
    """The file predates SCRAM: it holds no password to convert, so the admin sets it again."""

    code = "admin_secret_outdated"

    def __init__(self, path: object) -> None:
        super().__init__(
            path,
            "written by an older version",
            f"admin secret file {path} was written by an older version and cannot be converted "
            "(it does not hold the password); run risk-admin set-password again",
        )


class AuthFailed(AdminAuthError):
    """One handshake attempt failed; the client may retry with a fresh challenge."""

    code = "auth_failed"

    def __init__(self, reason: FailureReason, *, delay: int = 0) -> None:
        message = _REASON_MESSAGES[reason]
        if delay:
            message += f"; after repeated failures new challenges wait {delay} s"
        super().__init__(message)
        self.reason: FailureReason = reason
        # The wait the next challenge will carry, so the client learns of the penalty at once.
        self.delay = delay


class TooEarly(AdminAuthError):
    """A proof came before its challenge's penalty wait ended; the challenge stays usable."""

    code = "auth_wait"

    def __init__(self, seconds_remaining: int) -> None:
        super().__init__(
            f"this challenge may be answered in {seconds_remaining} s "
            "(admin auth is slowed after repeated failed logins)"
        )
        self.seconds_remaining = seconds_remaining
