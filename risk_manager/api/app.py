"""Build the FastAPI application: routers, the envelope, guards, offline docs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.exceptions import HTTPException

from risk_manager import __version__
from risk_manager.api.auth_deps import install_auth_errors
from risk_manager.api.docs import DESCRIPTION, mount_docs
from risk_manager.api.envelope import ApiError, error_body
from risk_manager.api.guards import GuardMiddleware
from risk_manager.api.routers import admin, public, risk, trader
from risk_manager.brokers.base import RouteProvider
from risk_manager.config.reload import ConfigReloader
from risk_manager.enforcement.admin import AdminActions
from risk_manager.errors import (
    Conflict,
    DomainError,
    InvalidRequest,
    NotAllowed,
    NotFound,
    OperationFailed,
    StorageUnavailable,
)
from risk_manager.runtime import Runtime
from risk_manager.trader_sessions import TraderSessions

TITLE = "Risk Manager Daemon"

# The one place a service's refusal becomes an HTTP status.
_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidRequest, 422), (NotFound, 404), (NotAllowed, 403), (Conflict, 409),
    (OperationFailed, 500), (StorageUnavailable, 507), (DomainError, 400),
)  # fmt: skip
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def _validation_problems(error: RequestValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"] if part != "body") or "body"
        problems.append(f"{location}: {item['msg']}")
    return problems


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status)

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        status = next(code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind))
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        return JSONResponse(error_body("validation_error", "; ".join(problems), problems), 422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot parse as JSON at all (e.g. not UTF-8):
            # the same documented 422 as any other malformed body.
            problem = f"body: cannot be parsed as JSON ({exc.detail})"
            return JSONResponse(error_body("validation_error", problem, [problem]), 422)
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        path = request.url.path
        logger.opt(exception=exc).error("Unhandled error in {} {}", request.method, path)
        return JSONResponse(error_body("internal_error", "internal error; see error.log"), 500)


def create_app(runtime: Runtime) -> Any:
    """The ASGI application for a running daemon."""
    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.auth = runtime.auth
    actions = AdminActions(runtime)
    app.state.admin_actions = actions
    app.state.config_reloader = ConfigReloader(runtime.config_path, actions)
    app.state.trader_sessions = TraderSessions(runtime.store, runtime.pipeline.calendar)
    _install_error_handlers(app)
    install_auth_errors(app)
    app.include_router(public.router)
    app.include_router(risk.router)
    app.include_router(trader.router)
    app.include_router(admin.login_router)
    app.include_router(admin.router)
    if isinstance(runtime.broker, RouteProvider):
        for router in runtime.broker.api_routers():
            app.include_router(router)
    mount_docs(app, TITLE)
    settings = runtime.config.daemon
    extra_hosts = frozenset({settings.host.lower()}) if settings.allow_remote else frozenset()
    return GuardMiddleware(
        app, max_body=settings.max_body_bytes, extra_hosts=extra_hosts,
        body_timeout=settings.request_timeout_seconds,
    )  # fmt: skip
