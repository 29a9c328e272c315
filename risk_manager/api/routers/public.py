"""Read-only routes: health, status, accounts, positions, PnL."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter

from risk_manager import __version__
from risk_manager.api.deps import AccountDep, RuntimeDep
from risk_manager.api.envelope import ok
from risk_manager.api.views import order_view, pnl_view, position_view
from risk_manager.health import health_report

router = APIRouter(prefix="/api/v1", tags=["read"])


@router.get("/health", summary="Daemon health (status, uptime, accounts, memory, CPU)")
async def health(runtime: RuntimeDep) -> dict[str, Any]:
    return ok(health_report(runtime))


@router.get("/status", summary="Daemon and per-account summary")
async def status(runtime: RuntimeDep) -> dict[str, Any]:
    pipeline = runtime.pipeline
    now = runtime.clock.now()
    accounts = [
        {
            "account_id": account.account_id,
            "name": account.name,
            "can_trade": account.can_trade,
            "positions": len(account.positions),
            "contracts": account.gross_contracts,
            "lockout": runtime.is_locked(account.account_id),
            **runtime.engine.gate.view(account, now),
            **pnl_view(account),
        }
        for account in pipeline.accounts.values()
    ]
    return ok(
        {
            "version": __version__,
            "pid": os.getpid(),
            "uptime": int(runtime.uptime_seconds),
            "broker": runtime.broker.kind,
            "connected": pipeline.connected,
            "now": now.isoformat(),
            "timezone": runtime.config.trading_day.timezone,
            "trading_day": str(pipeline.calendar.day_of(now)),
            "next_reset": pipeline.calendar.next_reset(now).isoformat(),
            "events": {
                "applied": pipeline.applied,
                "duplicates": pipeline.duplicates,
                "quotes": pipeline.quotes,
            },
            "accounts": accounts,
        }
    )


@router.get("/accounts", summary="Configured accounts")
async def accounts(runtime: RuntimeDep) -> dict[str, Any]:
    now = runtime.clock.now()
    return ok(
        [
            {
                "account_id": account.account_id,
                "name": account.name,
                "profile": runtime.config.accounts[account.account_id].profile,
                "balance": float(account.balance),
                "can_trade": account.can_trade,
                "connected": account.connected,
                **runtime.engine.gate.view(account, now),
            }
            for account in runtime.pipeline.accounts.values()
        ]
    )


@router.get("/accounts/{account_id}/positions", summary="Open positions and working orders")
async def positions(account: AccountDep) -> dict[str, Any]:
    return ok(
        {
            "account_id": account.account_id,
            "positions": [position_view(p) for p in account.positions.values()],
            "orders": [order_view(o) for o in account.orders.values()],
        }
    )


@router.get("/accounts/{account_id}/pnl", summary="Realized (net of fees) and unrealized PnL")
async def pnl(account: AccountDep) -> dict[str, Any]:
    return ok(pnl_view(account))
