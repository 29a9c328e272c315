"""The broker double as a daemon broker kind, `test_double`, for end-to-end tests.

Loaded only when the daemon's environment names this module in RISK_MANAGER_BROKER_PLUGINS
(the e2e tests do), so a production config cannot select it. Its routes under
`/api/v1/test-broker` let a test trade as the trader, script faults and read the true state.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from risk_manager.brokers.base import Broker
from risk_manager.brokers.registry import BrokerContext, register
from risk_manager.config.broker import BrokerSettings
from risk_manager.runtime import Runtime
from tests.brokers.double import Behaviour, SlowBroker


class DoubleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    fill_delay_ms: int = Field(0, ge=0)
    fill_jitter_ms: int = Field(0, ge=0)  # each fill a random 0..jitter ms later still
    seed: int = 0  # of the jitter, so a failing run can be replayed
    anonymous_closes: bool = False  # close replies name no order (like ProjectX's)
    position_lag_ms: int = Field(0, ge=0)
    prices: dict[str, Decimal] = Field(default_factory=dict)
    connect_failures: int = Field(0, ge=0)
    info_delay_ms: int = Field(0, ge=0)
    # Where the exchange keeps its state across daemon restarts (see `SlowBroker`).
    state_file: Path | None = None


class DoubleSettings(BrokerSettings):
    kind: Literal["test_double"] = "test_double"
    test_double: DoubleConfig = DoubleConfig()


class ServedSlowBroker(SlowBroker):
    def api_routers(self) -> list[APIRouter]:
        return [router]


def _build(settings: DoubleSettings, context: BrokerContext) -> Broker:
    config = settings.test_double
    jitter = random.Random(config.seed)

    def delay() -> float:
        return (config.fill_delay_ms + jitter.uniform(0, config.fill_jitter_ms)) / 1000

    behaviour = Behaviour(delay, config.position_lag_ms / 1000,
                          anonymous_closes=config.anonymous_closes,
                          connect_failures=config.connect_failures,
                          info_delay=config.info_delay_ms / 1000)  # fmt: skip
    accounts = [account_id for account_id, _ in context.accounts]
    return ServedSlowBroker(accounts, dict(config.prices) or None, behaviour, config.state_file)


register("test_double", DoubleSettings, _build)

router = APIRouter(prefix="/api/v1/test-broker", tags=["test broker"])


async def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _double(runtime: Runtime) -> ServedSlowBroker:
    assert isinstance(runtime.broker, ServedSlowBroker)
    return runtime.broker


class Trade(BaseModel):
    symbol: str
    quantity: int  # signed
    settle: bool = True  # answer once the enforcement it causes is done (False: at once)


class Faults(BaseModel):
    faults: list[str]


@router.post("/accounts/{account_id}/trades")
async def trade(account_id: str, body: Trade, runtime: RuntimeDep) -> dict[str, Any]:
    _double(runtime).trade(account_id, body.symbol, body.quantity)
    if body.settle:
        await runtime.settle()
    return {"data": {}}


@router.post("/faults")
async def faults(body: Faults, runtime: RuntimeDep) -> dict[str, Any]:
    _double(runtime).behaviour.faults = list(body.faults)
    return {"data": {}}


@router.get("/accounts/{account_id}/state")
async def state(account_id: str, symbol: str, runtime: RuntimeDep) -> dict[str, Any]:
    double = _double(runtime)
    history = [p.get((account_id, symbol), 0) for _, p in double._history]
    closes = [list(c) for c in double.calls if c[0] in ("close", "partial")]
    data = {"size": double.size(account_id, symbol), "history": history, "closes": closes,
            "idle": double.idle(), "faults_left": len(double.behaviour.faults)}  # fmt: skip
    return {"data": data}
