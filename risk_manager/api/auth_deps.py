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
    AuthLocked,
    NotConfigured,
    SecretFileError,
)

BEARER = {"WWW-Authenticate": "Bearer"}

# Declares the scheme in OpenAPI (Swagger's Authorize button); we raise our own 401 envelope.
bearer_scheme = HTTPBearer(
    scheme_name="AdminToken",
    description="Token from POST /api/v1/admin/session (see the handshake in the API summary).",
    auto_error=False,
)


def get_auth(request: Request) -> AdminAuth:
    """The daemon's AdminAuth; 503 when the daemon was built without one."""
    auth: AdminAuth | None = getattr(request.app.state, "auth", None)
    if auth is None:
        raise NotConfigured()
    return auth


AuthDep = Annotated[AdminAuth, Depends(get_auth)]


def require_admin(
    auth: AuthDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Let the request through only with a valid admin bearer token (401 otherwise)."""
    if credentials is None:
        raise HTTPException(
            401,
            "admin token required: POST /api/v1/admin/challenge, then /api/v1/admin/session, "
            "then send Authorization: Bearer <token>",
            headers=BEARER,
        )
    if not auth.verify_token(credentials.credentials):
        raise HTTPException(401, "admin token invalid or expired; log in again", headers=BEARER)


AdminRequired = Depends(require_admin)


def _status_and_headers(error: AdminAuthError) -> tuple[int, dict[str, str]]:
    if isinstance(error, AuthLocked):
        return 429, {"Retry-After": str(max(1, error.seconds_remaining))}
    if isinstance(error, AuthFailed):
        # The failure that starts a lock says so at once, with when to come back.
        retry = {"Retry-After": str(error.locked_for)} if error.locked_for else {}
        return 401, {**BEARER, **retry}
    if isinstance(error, NotConfigured):
        return 503, {}
    if isinstance(error, SecretFileError):
        return 500, {}
    return 500, {}


def install_auth_errors(app: FastAPI) -> None:
    """Map admin-auth exceptions to error envelopes with the right status and headers."""

    @app.exception_handler(AdminAuthError)
    async def admin_auth_error(_: Request, exc: AdminAuthError) -> JSONResponse:
        status, headers = _status_and_headers(exc)
        return JSONResponse(error_body(exc.code, exc.message), status, headers)
