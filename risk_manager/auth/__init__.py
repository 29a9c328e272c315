"""Admin authentication: scrypt-hashed password at rest, nonce challenge, in-memory tokens."""

from risk_manager.auth.errors import (
    AdminAuthError,
    AuthFailed,
    AuthLocked,
    NotConfigured,
    SecretFileError,
)
from risk_manager.auth.session import AdminAuth, AuthSettings, Challenge, Token

__all__ = [
    "AdminAuth",
    "AdminAuthError",
    "AuthFailed",
    "AuthLocked",
    "AuthSettings",
    "Challenge",
    "NotConfigured",
    "SecretFileError",
    "Token",
]
