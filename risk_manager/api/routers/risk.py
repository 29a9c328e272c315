"""Risk read routes: lockouts, the enforcement log, effective rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from risk_manager.api.deps import AccountDep, RuntimeDep
from risk_manager.api.envelope import ok
from risk_manager.enforcement.lockouts import lockout_view
from risk_manager.runtime import Runtime
from risk_manager.state import journal

router = APIRouter(prefix="/api/v1", tags=["risk"])


@router.get("/accounts/{account_id}/lockouts", summary="Active lockouts with time remaining")
async def lockouts(account: AccountDep, runtime: RuntimeDep) -> dict[str, Any]:
    now = runtime.clock.now()
    active = runtime.engine.lockouts.active(account.account_id)
    return ok(
        {
            "account_id": account.account_id,
            "locked": bool(active),
            **runtime.engine.gate.view(account, now),
            "lockouts": [lockout_view(lockout, now) for lockout in active],
        }
    )


LimitQuery = Annotated[int, Query(ge=1, le=500, description="records per page")]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="page back: ids below this")
]


async def _page(
    runtime: Runtime, account_id: str | None, limit: int, before: int | None
) -> dict[str, Any]:
    """One page, newest first; `next_before` is set only when an older record exists."""
    records = await runtime.store.history.read(
        lambda db: journal.records(db, account_id, limit + 1, before)
    )
    more = len(records) > limit
    records = records[:limit]
    return {"records": records, "next_before": records[-1]["id"] if more else None}


@router.get("/accounts/{account_id}/enforcement", summary="Enforcement log, newest first")
async def enforcement(
    account: AccountDep, runtime: RuntimeDep, limit: LimitQuery = 50, before: BeforeQuery = None
) -> dict[str, Any]:
    page = await _page(runtime, account.account_id, limit, before)
    return ok({"account_id": account.account_id, **page})


@router.get("/enforcement", summary="Enforcement log of every account, newest first")
async def enforcement_all(
    runtime: RuntimeDep, limit: LimitQuery = 50, before: BeforeQuery = None
) -> dict[str, Any]:
    return ok({"account_id": None, **await _page(runtime, None, limit, before)})


@router.get("/rules", summary="Effective rules per account")
async def rules(runtime: RuntimeDep) -> dict[str, Any]:
    config = runtime.config
    return ok(
        {
            account_id: {
                "profile": settings.profile,
                "rules": {
                    name: params.model_dump(mode="json")
                    for name, params in config.profile_for(account_id).enabled().items()
                },
            }
            for account_id, settings in config.accounts.items()
        }
    )
