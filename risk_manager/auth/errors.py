"""Admin-auth errors, named by the reaction they need; `code` is the stable API error code."""

from __future__ import annotations

from typing import Literal

FailureReason = Literal[
    "bad_request",
    "channel_binding_unsupported",
    "channel_binding_mismatch",
    "extensions",
    "invalid_encoding",
    "bad_username",
    "unknown_user",
    "unknown_nonce",
    "expired_nonce",
    "replayed_nonce",
    "bad_proof",
]

# reason -> (message, RFC 5802 §7 server-error value a SCRAM client understands as `e=...`)
_REASONS: dict[str, tuple[str, str]] = {
    "bad_request": (
        "not a SCRAM-SHA-256 message as this daemon takes them: "
        "'n,,n=admin,r=<nonce>', then 'c=biws,r=<nonce>,p=<proof>'",
        "other-error",
    ),
    "channel_binding_unsupported": (
        "channel binding is not supported (the API is loopback HTTP without TLS); "
        "start with the GS2 header 'n,,'",
        "channel-binding-not-supported",
    ),
    "channel_binding_mismatch": (
        "the c= attribute does not carry the GS2 header of the client-first message",
        "channel-bindings-dont-match",
    ),
    "extensions": ("SCRAM extensions are not supported", "extensions-not-supported"),
    "invalid_encoding": ("c= or p= is not valid base64", "invalid-encoding"),
    "bad_username": (
        "malformed user name: '=' may only start '=2C' or '=3D'",
        "invalid-username-encoding",
    ),
    "unknown_user": ("unknown user; the only user is 'admin'", "unknown-user"),
    "unknown_nonce": ("unknown challenge nonce; request a new challenge", "other-error"),
    "expired_nonce": ("challenge expired; request a new challenge", "other-error"),
    "replayed_nonce": ("challenge already used; request a new challenge", "other-error"),
    "bad_proof": ("wrong password", "invalid-proof"),
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
        message, self.scram_error = _REASONS[reason]
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
