"""The response envelope of SPEC §7 and the one error type routers raise."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal decided by a router itself (a bad media type, an unknown account)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def ok(data: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"status": "success", "data": data}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """An error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"status": "error", "error": error}
