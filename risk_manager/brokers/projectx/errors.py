"""What a refused Gateway login means, in words an operator can act on."""

from __future__ import annotations

# loginKey errorCodes (Gateway Swagger).
LOGIN_ERRORS: dict[int, str] = {
    1: "user not found: check the username",
    2: "password verification failed",
    3: "invalid credentials: check the username and API key",
    7: "the user has not signed the platform agreements",
    9: "no API subscription: the API add-on must be bought for this user",
    10: "API key authentication is disabled for this user",
}


def login_error(code: int | None, message: str | None) -> str:
    """One line saying what is wrong with a refused login."""
    known = LOGIN_ERRORS.get(code or 0)
    detail = f" ({message})" if message else ""
    return f"login refused, errorCode {code}: {known or 'unknown reason'}{detail}"
