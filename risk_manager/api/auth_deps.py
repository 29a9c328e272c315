"""Admin authentication for the API: the bearer dependency and auth errors as envelopes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from risk_manager.api.envelope import error_body
from risk_manager.auth import (
    AdminAuth,
    AdminAuthError,
    AuthFailed,
    NotConfigured,
    TooEarly,
)

BEARER = {"WWW-Authenticate": "Bearer"}

# Declares the scheme in OpenAPI (Swagger's Authorize button); we raise our own 401 envelope.
bearer_scheme = HTTPBearer(
    scheme_name="AdminToken",
    description="Token printed by `risk-admin token` (SCRAM-SHA-256 handshake, see the summary).",
    auto_error=False,
)


async def get_auth(request: Request) -> AdminAuth:
    """The daemon's AdminAuth; 503 when the daemon was built without one."""
    auth: AdminAuth | None = getattr(request.app.state, "auth", None)
    if auth is None:
        raise NotConfigured()
    return auth


AuthDep = Annotated[AdminAuth, Depends(get_auth)]


async def require_admin(
    auth: AuthDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Let the request through only with a valid admin bearer token (401 otherwise)."""
    if credentials is None:
        raise HTTPException(
            401,
            "admin token required: run risk-admin token (or the SCRAM exchange on "
            "/api/v1/admin/challenge and /api/v1/admin/session), then send "
            "Authorization: Bearer <token>",
            headers=BEARER,
        )
    if not auth.verify_token(credentials.credentials):
        raise HTTPException(401, "admin token invalid or expired; log in again", headers=BEARER)


AdminRequired = Depends(require_admin)


def _status_and_headers(error: AdminAuthError) -> tuple[int, dict[str, str]]:
    if isinstance(error, TooEarly):
        return 429, {"Retry-After": str(max(1, error.seconds_remaining))}
    if isinstance(error, AuthFailed):
        # The failure that grows the penalty says so at once, with the wait to expect.
        retry = {"Retry-After": str(error.delay)} if error.delay else {}
        return 401, {**BEARER, **retry}
    # No usable password (none set, an old or a damaged file): admin login is unavailable until
    # a human runs set-password; the daemon itself is fine, so not a 500.
    return 503, {}


def install_auth_errors(app: FastAPI) -> None:
    """Map admin-auth exceptions to error envelopes with the right status and headers."""

    @app.exception_handler(AdminAuthError)
    async def admin_auth_error(_: Request, exc: AdminAuthError) -> JSONResponse:
        status, headers = _status_and_headers(exc)
        # A failed exchange also answers as RFC 5802 does (server-final `e=<error>`), so any
        # SCRAM client can read why.
        details = {"server_final": f"e={exc.scram_error}"} if isinstance(exc, AuthFailed) else None
        return JSONResponse(error_body(exc.code, exc.message, details), status, headers)
