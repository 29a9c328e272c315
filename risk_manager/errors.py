"""Refusals a service raises, named by what went wrong; the API maps each kind to an HTTP status
in one place (`api/app.py`), so no service knows about HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation: a stable machine `code`, a human message, optional details."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class InvalidRequest(DomainError):
    """The input cannot be used as given (a bad config, an impossible lock time)."""


class NotFound(DomainError):
    """The thing named does not exist (a lockout id, a channel)."""


class NotAllowed(DomainError):
    """The configuration forbids the operation (e.g. allow_admin_unlock = false)."""


class Conflict(DomainError):
    """The operation does not fit the current state (already clocked in, nothing configured)."""


class StorageUnavailable(DomainError):
    """The disk is full or read-only: a change that needs it is refused until it is back."""


class OperationFailed(DomainError):
    """The daemon tried and could not (a file it cannot read or write); nothing changed."""
