"""Admin authentication: SCRAM-SHA-256 verifier at rest, progressive penalty, in-memory tokens."""

from risk_manager.auth.errors import (
    AdminAuthError,
    AuthFailed,
    NotConfigured,
    OutdatedSecret,
    SecretFileError,
    TooEarly,
)
from risk_manager.auth.session import AdminAuth, AuthSettings, Challenge, Session

__all__ = [
    "AdminAuth",
    "AdminAuthError",
    "AuthFailed",
    "AuthSettings",
    "Challenge",
    "NotConfigured",
    "OutdatedSecret",
    "SecretFileError",
    "Session",
    "TooEarly",
]
