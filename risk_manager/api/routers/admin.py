"""Admin routes: the login handshake, then config, unlock, flatten, reset and stop (bearer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from risk_manager.api.auth_deps import AdminRequired, AuthDep
from risk_manager.api.deps import AccountDep, RuntimeDep
from risk_manager.api.envelope import ApiError, ok
from risk_manager.api.views import order_view, position_view
from risk_manager.config.loader import ConfigError, text_of
from risk_manager.config.reload import ConfigReloader, config_rejected
from risk_manager.domain.strict import StrictInt
from risk_manager.enforcement.admin import AdminActions
from risk_manager.enforcement.lockouts import lockout_view

login_router = APIRouter(prefix="/api/v1/admin", tags=["admin auth"])
router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[AdminRequired])

TOML_TYPES = frozenset({"application/toml", "text/plain", "application/x-toml", "text/x-toml"})
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired bearer token (`unauthorized`)"},
}


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_first: str = Field(
        max_length=512, description="SCRAM client-first message, e.g. `n,,n=admin,r=<nonce>`"
    )


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_final: str = Field(
        max_length=512, description="SCRAM client-final message `c=biws,r=<nonce>,p=<proof>`"
    )


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lockout_id: StrictInt | None = Field(
        None, ge=1, le=2**63 - 1, description="end only this lockout (default all)"
    )


class NotifyTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str | None = Field(None, max_length=64, description="only this channel (default all)")


async def get_reloader(request: Request) -> ConfigReloader:
    reloader: ConfigReloader = request.app.state.config_reloader
    return reloader


async def get_actions(request: Request) -> AdminActions:
    actions: AdminActions = request.app.state.admin_actions
    return actions


ReloaderDep = Annotated[ConfigReloader, Depends(get_reloader)]
ActionsDep = Annotated[AdminActions, Depends(get_actions)]


# -- login ------------------------------------------------------------------------------------


@login_router.post("/challenge", summary="SCRAM step 1: client-first in, server-first out")
async def challenge(body: ChallengeRequest, auth: AuthDep) -> dict[str, Any]:
    return ok(auth.issue_challenge(body.client_first).to_data())


@login_router.post("/session", summary="SCRAM step 2: proof in, token + server signature out")
async def session(body: SessionRequest, auth: AuthDep) -> dict[str, Any]:
    return ok(auth.open_session(body.client_final).to_data())


# -- config -----------------------------------------------------------------------------------

# A query string has no types: "true" is the boolean here (strictness is for bodies).
AllowEmpty = Annotated[
    bool,
    Query(description="confirm a config with no account or no enabled rule (enforces nothing)"),
]

_CONFIG_BODY = {
    "requestBody": {
        "required": True,
        "description": "The whole new config: TOML text, or the same document as a JSON object.",
        "content": {
            "application/toml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("/config", summary="The config file text and the effective config", responses=_ERRORS)
async def get_config(ops: ReloaderDep) -> dict[str, Any]:
    return ok(ops.show_config())


@router.post("/config/reload", summary="Re-read the config file and apply it", responses=_ERRORS)
async def reload_config(ops: ReloaderDep, allow_empty: AllowEmpty = False) -> dict[str, Any]:
    return ok(ops.reload(allow_empty=allow_empty))


@router.put(
    "/config",
    summary="Replace the config (validated; nothing changes on any error)",
    openapi_extra=_CONFIG_BODY,
    responses={**_ERRORS, 422: {"description": "every problem as `key: reason`"}},
)
async def put_config(
    request: Request, ops: ReloaderDep, allow_empty: AllowEmpty = False
) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and media not in TOML_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send TOML (application/toml or text/plain) or application/json",
        )
    try:
        text = text_of(await request.body(), "request body")
    except ConfigError as error:
        raise config_rejected(error) from None
    return ok(ops.replace(text, as_json=media == "application/json", allow_empty=allow_empty))


# -- accounts and the daemon ------------------------------------------------------------------


@router.post("/accounts/{account_id}/unlock", summary="End lockouts early", responses=_ERRORS)
async def unlock(
    account: AccountDep, actions: ActionsDep, runtime: RuntimeDep, body: UnlockRequest | None = None
) -> dict[str, Any]:
    unlocked = actions.unlock(account.account_id, None if body is None else body.lockout_id)
    now = runtime.clock.now()
    return ok({
        "account_id": unlocked.account_id,
        "ended": [lockout_view(lockout, now) for lockout in unlocked.ended],
        "still_active": [lockout_view(lockout, now) for lockout in unlocked.still_active],
    })  # fmt: skip


@router.post(
    "/accounts/{account_id}/flatten",
    summary="Close every position and cancel every order; returns what is left",
    responses=_ERRORS,
)
async def flatten(account: AccountDep, actions: ActionsDep) -> dict[str, Any]:
    left = await actions.flatten(account.account_id)
    return ok({
        "account_id": left.account_id,
        "positions": [position_view(p) for p in left.positions.values()],
        "orders": [order_view(o) for o in left.orders.values()],
    })  # fmt: skip


@router.post("/reset-day", summary="Force the daily reset for every account", responses=_ERRORS)
async def reset_day(actions: ActionsDep) -> dict[str, Any]:
    return ok(await actions.reset_day())


@router.post(
    "/notify/test",
    summary="Send a test message to the notification channels; result per channel",
    responses=_ERRORS,
)
async def notify_test(runtime: RuntimeDep, body: NotifyTestRequest | None = None) -> dict[str, Any]:
    if runtime.notifier is None:
        raise ApiError(409, "no_channels", "notifications are not running")
    return ok({"channels": await runtime.notifier.test(None if body is None else body.channel)})


@router.post("/daemon/stop", summary="Stop the daemon gracefully", responses=_ERRORS)
async def stop(
    actions: ActionsDep, runtime: RuntimeDep, background: BackgroundTasks
) -> dict[str, Any]:
    data = actions.stop()
    # After the reply is sent, so the client learns the stop was accepted.
    background.add_task(runtime.stop_requested.set)
    return ok(data)
