"""Request-scoped access to the runtime and its accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from risk_manager.api.envelope import ApiError
from risk_manager.runtime import Runtime
from risk_manager.state.ledger import AccountState

# Dependencies and read handlers are all `async def`: FastAPI runs plain `def` ones in worker
# threads, where walking the pipeline's dicts races the loop that mutates them.


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_account(
    runtime: RuntimeDep, account_id: Annotated[str, Path(description="broker account id")]
) -> AccountState:
    """The account named in the path, or 404."""
    account = runtime.pipeline.accounts.get(account_id)
    if account is None:
        known = ", ".join(sorted(runtime.pipeline.accounts)) or "none"
        raise ApiError(404, "account_not_found", f"no account {account_id!r} (known: {known})")
    return account


AccountDep = Annotated[AccountState, Depends(get_account)]
