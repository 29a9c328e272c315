"""The one error a service raises to refuse a request; the API renders it as an envelope."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A refused request: HTTP status, a stable code, a human message, optional details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
