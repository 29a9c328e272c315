"""The fake Gateway's REST routes: the success envelope, JWTs with `exp`, 401 / 400 / 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.projectx.fake_gateway.exchange import CONTRACTS, ExchangeError
from tests.projectx.fake_gateway.state import Fault, GatewayState

Route = Callable[[GatewayState, dict[str, Any]], Awaitable[dict[str, Any]]]


def ok(**payload: Any) -> dict[str, Any]:
    return {"success": True, "errorCode": 0, "errorMessage": None, **payload}


def refused(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "errorCode": code, "errorMessage": message}


def _price(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def login_key(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    if state.login_error:
        return refused(state.login_error, "login refused")
    if body.get("userName") != state.username or body.get("apiKey") != state.api_key:
        return refused(3, "InvalidCredentials")
    return ok(token=state.issue_token())


async def account_search(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    return ok(accounts=[a.record() for a in state.exchange.accounts.values()])


async def position_search(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    account = state.exchange.account(body.get("accountId"))
    return ok(positions=[p.record() for p in state.exchange.open_positions(account.id)])


async def order_search_open(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    account = state.exchange.account(body.get("accountId"))
    return ok(orders=[o.record() for o in state.exchange.working(account.id)])


async def order_search(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    account = state.exchange.account(body.get("accountId"))
    since = _since(body)
    mine = [o for o in state.exchange.orders.values() if o.account_id == account.id]
    orders = [o.record() for o in mine if datetime.fromisoformat(o.created) >= since]
    return ok(orders=orders)


async def trade_search(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    account = state.exchange.account(body.get("accountId"))
    since = _since(body)
    trades = [t for t in state.exchange.trades if t["accountId"] == account.id
              and datetime.fromisoformat(t["creationTimestamp"]) >= since]  # fmt: skip
    return ok(trades=trades)


async def close_contract(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    order = state.exchange.close_order(body.get("accountId"), body.get("contractId"), None)
    state.schedule_fills(order.contract_id)
    return ok()


async def partial_close(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    size = body.get("size")
    if size is None:
        raise ExchangeError(5, "InvalidCloseSize")
    order = state.exchange.close_order(body.get("accountId"), body.get("contractId"), size)
    state.schedule_fills(order.contract_id)
    return ok()


async def order_place(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    keys = (("stop", "stopLossBracket"), ("target", "takeProfitBracket"))
    brackets = {name: int(b["ticks"]) for name, key in keys if isinstance(b := body.get(key), dict)}
    order = state.exchange.place(
        body.get("accountId"), body.get("contractId"), body.get("type"), body.get("side"),
        body.get("size"), _price(body.get("limitPrice")), _price(body.get("stopPrice")),
        body.get("customTag"), brackets,
    )  # fmt: skip
    state.schedule_fills(order.contract_id)
    return ok(orderId=order.id)


async def order_cancel(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    state.exchange.cancel(body.get("accountId"), body.get("orderId"))
    return ok()


async def order_modify(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    exchange = state.exchange
    exchange.account(body.get("accountId"))
    order = exchange.orders.get(body.get("orderId"))  # type: ignore[arg-type]
    if order is None or order.status != 1:
        raise ExchangeError(2, "OrderNotFound")
    if body.get("stopPrice") is not None:
        order.stop_price = _price(body["stopPrice"])
    if body.get("limitPrice") is not None:
        order.limit_price = _price(body["limitPrice"])
    exchange.push([("GatewayUserOrder", order.account_id, order.record())])
    state.schedule_fills(order.contract_id)
    return ok()


async def contract_by_id(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    return ok(contract=state.exchange.contract(body.get("contractId")).record())


async def contract_search(state: GatewayState, body: dict[str, Any]) -> dict[str, Any]:
    text = str(body.get("searchText") or "").upper()
    found = [c.record() for c in CONTRACTS.values() if text in c.name or text in c.id]
    return ok(contracts=found[:20])


def _since(body: dict[str, Any]) -> datetime:
    stamp = body.get("startTimestamp")
    if not isinstance(stamp, str):
        raise ValueError("startTimestamp is required")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


ROUTES: dict[str, Route] = {
    "Account/search": account_search,
    "Position/searchOpen": position_search,
    "Position/closeContract": close_contract,
    "Position/partialCloseContract": partial_close,
    "Order/searchOpen": order_search_open,
    "Order/search": order_search,
    "Order/place": order_place,
    "Order/cancel": order_cancel,
    "Order/modify": order_modify,
    "Trade/search": trade_search,
    "Contract/searchById": contract_by_id,
    "Contract/search": contract_search,
}


async def dispatch(
    state: GatewayState, path: str, body: Any, token: str | None
) -> tuple[int, dict[str, Any] | None]:
    """Answer one REST call as (HTTP status, JSON body)."""
    state.requests.append((path, body, time.monotonic()))
    state.request_seen.set()
    if not state.window.allow():
        return 429, None
    if path == "Auth/loginKey":
        return (200, await login_key(state, body)) if isinstance(body, dict) else (400, None)
    if not state.token_valid(token):
        return 401, None
    if path == "Auth/validate":
        return 200, ok(newToken=state.issue_token())
    if path == "Auth/logout":
        return 200, ok()
    route = ROUTES.get(path)
    if route is None:
        return 404, None
    if not isinstance(body, dict):
        return 400, None
    fault = state.take_fault(path)
    if fault is not None and not fault.act:
        return await _fail(fault)
    try:
        reply = await route(state, body)
    except ExchangeError as error:
        reply = refused(error.code, str(error))
    except (ValueError, TypeError, KeyError):
        return 400, None
    if fault is not None:
        return await _fail(fault)
    return 200, reply


async def _fail(fault: Fault) -> tuple[int, dict[str, Any] | None]:
    if fault.kind == "hang":
        await asyncio.sleep(fault.hang_seconds)
        return 504, None
    if fault.kind == "false":
        return 200, refused(fault.code, "refused by a test fault")
    return int(fault.kind), None
