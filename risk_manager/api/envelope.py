"""The response envelope of SPEC §7 and the one error type routers raise."""

from __future__ import annotations

from typing import Any

from risk_manager.errors import RequestError

# Routers raise it under this name; services (admin_ops) raise it as RequestError.
ApiError = RequestError


def ok(data: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"status": "success", "data": data}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """An error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"status": "error", "error": error}
