"""The simulator's own API routes: stand in for the trader's platform (mounted by the adapter)."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from risk_manager.api.deps import AccountDep, RuntimeDep
from risk_manager.api.envelope import ApiError, ok
from risk_manager.api.views import order_view
from risk_manager.brokers.simulated.adapter import SimulatedBroker
from risk_manager.brokers.simulated.exchange import SimOrderError
from risk_manager.clock import ShiftableClock
from risk_manager.domain.events import Fill, Order, OrderStatus, OrderType, OrderUpdate, Quote, Side
from risk_manager.domain.strict import Price, StrictBool, StrictFloat, StrictInt

router = APIRouter(prefix="/api/v1/sim", tags=["simulator"])
# Mounted only with `[broker.simulated] test_controls = true`.
controls = APIRouter(prefix="/api/v1/sim", tags=["simulator test controls"])


async def _simulator(runtime: RuntimeDep) -> SimulatedBroker:
    # These routes are mounted only by a SimulatedBroker (RouteProvider), so this always holds.
    simulator = runtime.broker
    assert isinstance(simulator, SimulatedBroker)
    return simulator


SimDep = Annotated[SimulatedBroker, Depends(_simulator)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimOrder(Body):
    symbol: str = Field(min_length=1, max_length=32, examples=["MNQ"])
    side: Literal["buy", "sell"]
    quantity: StrictInt = Field(gt=0, le=1000)
    type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    limit_price: Price | None = None
    stop_price: Price | None = None


class SimPrice(Body):
    symbol: str = Field(min_length=1, max_length=32, examples=["MNQ"])
    price: Price = Field(examples=[21000.0])


class CanTrade(Body):
    can_trade: StrictBool


class Connection(Body):
    connected: StrictBool


class ClockSet(Body):
    now: datetime = Field(description="timezone-aware instant the daemon's clock jumps to")


class ForeignEvent(Body):
    """A fill, working order or quote the exchange did not make (any symbol at all)."""

    kind: Literal["fill", "order", "quote"]
    event_id: str = Field(min_length=1, max_length=64, description="replays reuse the id")
    symbol: str = Field(min_length=1, max_length=32, examples=["ZZZ"])
    side: Literal["buy", "sell"] = "buy"
    quantity: StrictInt = Field(1, gt=0, le=1000)
    price: Price = Decimal(100)


class Stall(Body):
    seconds: StrictFloat = Field(gt=0, le=120)


@router.post("/accounts/{account_id}/orders", summary="Place an order as the trader would")
async def place_order(
    body: SimOrder, account: AccountDep, sim: SimDep, runtime: RuntimeDep
) -> dict[str, Any]:
    try:
        order = sim.submit_order(
            account.account_id, body.symbol, Side.BUY if body.side == "buy" else Side.SELL,
            body.quantity, OrderType(body.type),
            limit_price=body.limit_price, stop_price=body.stop_price,
        )  # fmt: skip
    except (SimOrderError, ValueError) as error:
        raise ApiError(422, "order_rejected", str(error)) from None
    await runtime.settle()
    return ok(order_view(order))


@router.post("/prices", summary="Set a price (manual market) and trigger working orders")
async def set_price(body: SimPrice, sim: SimDep, runtime: RuntimeDep) -> dict[str, Any]:
    try:
        sim.set_price(body.symbol, body.price)
    except ValueError as error:
        raise ApiError(422, "bad_price", str(error)) from None
    await runtime.settle()
    return ok({"symbol": body.symbol.upper(), "price": float(body.price)})


@controls.post("/accounts/{account_id}/can-trade", summary="Switch the broker's canTrade flag")
async def set_can_trade(
    body: CanTrade, account: AccountDep, sim: SimDep, runtime: RuntimeDep
) -> dict[str, Any]:
    sim.set_can_trade(account.account_id, body.can_trade)
    await runtime.settle()
    return ok({"account_id": account.account_id, "can_trade": body.can_trade})


@controls.post("/connection", summary="Drop or restore the broker connection")
async def set_connection(body: Connection, sim: SimDep, runtime: RuntimeDep) -> dict[str, Any]:
    sim.set_connected(body.connected)
    await runtime.settle()
    return ok({"connected": body.connected})


@controls.post("/clock", summary="Move the daemon's clock (sessions, resets, timers)")
async def set_clock(body: ClockSet, sim: SimDep, runtime: RuntimeDep) -> dict[str, Any]:
    if body.now.tzinfo is None:
        raise ApiError(422, "naive_time", "give the instant with a UTC offset, e.g. ...Z")
    if not isinstance(runtime.clock, ShiftableClock):
        raise ApiError(409, "clock_not_shiftable", "this daemon's clock cannot be moved")
    runtime.clock.set_now(body.now)
    runtime.pipeline.roll_day_if_due(runtime.clock.now())
    runtime.engine.tick(runtime.pipeline.accounts.values())
    await runtime.settle()
    return ok({"now": runtime.clock.now().isoformat()})


@controls.post(
    "/accounts/{account_id}/foreign-event",
    summary="Deliver a broker event the simulator did not make (e.g. an unknown contract)",
)
async def foreign_event(
    body: ForeignEvent, account: AccountDep, sim: SimDep, runtime: RuntimeDep
) -> dict[str, Any]:
    now = runtime.clock.now()
    side = Side.BUY if body.side == "buy" else Side.SELL
    event: Fill | OrderUpdate | Quote
    if body.kind == "fill":
        event = Fill(body.event_id, account.account_id, now, body.symbol, side, body.quantity,
                     body.price, Decimal(0))  # fmt: skip
    elif body.kind == "order":
        order = Order(body.event_id, account.account_id, body.symbol, side, OrderType.LIMIT,
                      body.quantity, OrderStatus.WORKING, now, limit_price=body.price)  # fmt: skip
        event = OrderUpdate(body.event_id, order)
    else:
        event = Quote(body.symbol, now, last=body.price)
    sim.report_foreign(event)
    await runtime.settle()
    return ok({"account_id": account.account_id, "kind": body.kind, "event_id": body.event_id})


@controls.post("/stall", summary="Block the event loop (fault injection for the watchdog)")
async def stall(body: Stall, sim: SimDep) -> dict[str, Any]:
    # Deliberately blocks the loop (an async route runs on it) to prove the watchdog works.
    time.sleep(body.seconds)  # noqa: ASYNC251
    return ok({"stalled_seconds": body.seconds})
