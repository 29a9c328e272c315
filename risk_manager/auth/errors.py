"""Admin-auth errors, named by the reaction they need; `code` is the stable API error code."""

from __future__ import annotations

from typing import Literal

FailureReason = Literal[
    "unknown_nonce",
    "expired_nonce",
    "replayed_nonce",
    "bad_proof",
]

_REASON_MESSAGES: dict[str, str] = {
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

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(
            f"admin secret file {path} is unusable ({reason}); run risk-admin set-password"
        )
        self.path = path
        self.reason = reason


class AuthFailed(AdminAuthError):
    """One handshake attempt failed; the client may retry with a fresh challenge."""

    code = "auth_failed"

    def __init__(self, reason: FailureReason, *, locked_for: int | None = None) -> None:
        message = _REASON_MESSAGES[reason]
        if locked_for:
            message += f"; too many failures, admin auth locked for {locked_for} s"
        super().__init__(message)
        self.reason: FailureReason = reason
        # Set on the failure that started a lock, so the client learns of it at once.
        self.locked_for = locked_for


class AuthLocked(AdminAuthError):
    """Too many consecutive failures: every attempt is refused until the lock runs out."""

    code = "auth_locked"

    def __init__(self, seconds_remaining: int) -> None:
        super().__init__(
            f"admin auth locked after repeated failures; retry in {seconds_remaining} s"
        )
        self.seconds_remaining = seconds_remaining
