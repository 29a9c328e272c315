"""Risk read routes: lockouts, the enforcement log, effective rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from risk_manager.api.deps import AccountDep, RuntimeDep
from risk_manager.api.envelope import ok
from risk_manager.enforcement import journal
from risk_manager.enforcement.lockouts import lockout_view

router = APIRouter(prefix="/api/v1", tags=["risk"])


@router.get("/accounts/{account_id}/lockouts", summary="Active lockouts with time remaining")
def lockouts(account: AccountDep, runtime: RuntimeDep) -> dict[str, Any]:
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


@router.get("/accounts/{account_id}/enforcement", summary="Enforcement log, newest first")
def enforcement(
    account: AccountDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="page back: ids below this")] = None,
) -> dict[str, Any]:
    records = journal.records(runtime.store.db, account.account_id, limit, before)
    next_before = records[-1]["id"] if len(records) == limit else None
    return ok({"account_id": account.account_id, "records": records, "next_before": next_before})


@router.get("/rules", summary="Effective rules per account")
def rules(runtime: RuntimeDep) -> dict[str, Any]:
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
