"""`ProjectXBroker`: the TopstepX / ProjectX Gateway behind the Broker protocol.

Reads and actions go over REST; events come from the hubs (see feed.py). Actions are never
re-sent blindly: a reply lost after sending (timeout, 429, 5xx) is reconciled against the
Gateway's positions or orders first, and reported as OutcomeUnknown if that cannot settle it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from risk_manager.brokers.base import (
    AccountInfo,
    BrokerAuthFailed,
    BrokerError,
    BrokerPosition,
    BrokerResult,
    EventSink,
    OutcomeUnknown,
    UnknownAccount,
)
from risk_manager.brokers.projectx import mapping
from risk_manager.brokers.projectx.accounts import AccountMap
from risk_manager.brokers.projectx.config import ProjectXOptions
from risk_manager.brokers.projectx.contracts import ContractBook
from risk_manager.brokers.projectx.credentials import load_credentials
from risk_manager.brokers.projectx.feed import Feed
from risk_manager.brokers.projectx.ratelimit import RateBudget
from risk_manager.brokers.projectx.rest import Credentials, GatewayRest
from risk_manager.brokers.projectx.symbols import contract_id_of
from risk_manager.clock import Clock
from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import ConnectionChange, Fill, Order, OrderStatus, OrderType, Side

CONNECT_WAIT_SECONDS = 10.0
# After a lost reply, look at the Gateway this often before calling the outcome unknown
# (a close's fill can arrive a moment after the acknowledgement).
SETTLE_DELAYS = (0.1, 0.25, 0.5, 1.0)
FILL_WAIT_SECONDS = 2.0  # how long an acknowledged close waits for its fill to be pushed
HISTORY_DAYS = 2  # order_status looks this far back for orders no longer working


class ProjectXBroker:
    kind = "projectx"

    def __init__(
        self,
        options: ProjectXOptions,
        accounts: list[tuple[str, str]] | tuple[tuple[str, str], ...],
        state_dir: Path,
        secrets_dir: Path,
        clock: Clock,
        credentials: Credentials | None = None,
        alert: Callable[[str, str], None] | None = None,
    ) -> None:
        self._options = options
        self._alert = alert or _log_only
        self._login_refused = False
        self._secrets_dir = secrets_dir
        self._credentials = credentials
        self._clock = clock
        self._accounts = AccountMap(list(accounts))
        self.contracts = ContractBook(state_dir / "projectx_contracts.json")
        self.budget = RateBudget(options.rate_limit, options.rate_window_seconds,
                                 options.enforcement_reserve)  # fmt: skip
        self._rest: GatewayRest | None = None
        self._feed: Feed | None = None
        self._contract_misses: dict[str, float] = {}

    # Lifecycle.

    async def connect(self, sink: EventSink) -> None:
        """Log in, match the accounts, then start the hubs (subscriptions follow each connect)."""
        rest = self._rest_client()
        await rest.token()
        reply = await rest.call("/api/Account/search", {"onlyActiveAccounts": True}, action=False)
        self._accounts.resolve(reply.get("accounts") or [])
        self._feed = Feed(self._options, self._accounts, self._clock, self._hub_token,
                          self._ensure_contract, self._raw_positions, self._alert)  # fmt: skip
        if not await self._feed.start(sink, CONNECT_WAIT_SECONDS):
            # Announce the gap: the hub's first connection then triggers a reconcile.
            sink(ConnectionChange(self._clock.now(), False, "ProjectX user hub not connected yet"))

    async def close(self) -> None:
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = None

    async def ping(self) -> float:
        """Round trip of the Gateway's ping route, in seconds."""
        return await self._rest_client().ping()

    # Reads.

    async def accounts(self) -> list[AccountInfo]:
        """Every account the login sees; configured ones under their configured id."""
        reply = await self._call("/api/Account/search", {"onlyActiveAccounts": True})
        found = []
        for record in reply.get("accounts") or []:
            gateway_id = int(record["id"])
            found.append(mapping.account_from(
                record, self._accounts.daemon_id(gateway_id) or str(gateway_id)))  # fmt: skip
        return found

    async def account_info(self, account_id: str) -> AccountInfo:
        gateway_id = self._gateway_id(account_id)
        for info in await self.accounts():
            if info.account_id in (account_id, str(gateway_id)):
                return info
        raise UnknownAccount(f"the Gateway no longer lists account {account_id}")

    async def open_positions(self, account_id: str) -> list[BrokerPosition]:
        positions = await self._positions(self._gateway_id(account_id))
        return [p.as_broker_position(account_id) for p in positions if p.size]

    async def open_orders(self, account_id: str) -> list[Order]:
        reply = await self._call(
            "/api/Order/searchOpen", {"accountId": self._gateway_id(account_id)}
        )
        orders = [mapping.order_from(r, account_id) for r in reply.get("orders") or []]
        return [o for o in orders if o.status is OrderStatus.WORKING]

    async def order_status(self, account_id: str, order_id: str) -> Order | None:
        for order in await self.open_orders(account_id):
            if order.order_id == order_id:
                return order
        since = self._clock.now() - timedelta(days=HISTORY_DAYS)
        body = {"accountId": self._gateway_id(account_id), "startTimestamp": mapping.iso(since)}
        reply = await self._call("/api/Order/search", body)
        for record in reply.get("orders") or []:
            if str(record.get("id")) == order_id:
                return mapping.order_from(record, account_id)
        return None

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        body = {"accountId": self._gateway_id(account_id), "startTimestamp": mapping.iso(since)}
        reply = await self._call("/api/Trade/search", body)
        fills = []
        for record in reply.get("trades") or []:
            await self._ensure_contract(str(record.get("contractId")))
            fills.append(mapping.trade_to_fill(record, account_id))
        return sorted(fills, key=lambda fill: fill.ts)

    def contract_spec(self, symbol: str) -> ContractSpec:
        """The Gateway's tick size and value when known, else the built-in table's."""
        return self.contracts.spec(contract_id_of(symbol))

    # Actions.

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult:
        """closeContract, then cancel what still works on the contract (bracket children)."""
        gateway_id, contract_id = self._gateway_id(account_id), contract_id_of(symbol)
        body = {"accountId": gateway_id, "contractId": contract_id}
        before = self._known_size(gateway_id, contract_id)
        try:
            reply = await self._act("/api/Position/closeContract", body)
        except OutcomeUnknown:
            # Any reduction shows the Gateway took the close (its fill may still be arriving).
            if not await self._settled(gateway_id, contract_id, max(abs(before) - 1, 0)):
                raise
            reply = {"success": True, "reconciled": "reply lost; the Gateway shows it acted"}
        result = _result(reply)
        if result.ok:
            # The acknowledgement comes before the fill: give the fill a moment to land, so a
            # caller re-reading positions right away does not see the old size and close again.
            if self._feed is not None:
                await self._feed.wait_position(gateway_id, contract_id, 0, FILL_WAIT_SECONDS)
            await self._cancel_resting(account_id, gateway_id, contract_id)
        return result

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult:
        gateway_id, contract_id = self._gateway_id(account_id), contract_id_of(symbol)
        body = {"accountId": gateway_id, "contractId": contract_id, "size": quantity}
        before = self._known_size(gateway_id, contract_id)
        try:
            result = _result(await self._act("/api/Position/partialCloseContract", body))
            if result.ok and self._feed is not None and before:
                target = max(abs(before) - quantity, 0)
                await self._feed.wait_position(gateway_id, contract_id, target, FILL_WAIT_SECONDS)
            return result
        except OutcomeUnknown:
            if not await self._settled(gateway_id, contract_id, abs(before) - quantity):
                raise
            return BrokerResult(True, None, None, {"reconciled": "the Gateway shows it acted"})

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult:
        gateway_id = self._gateway_id(account_id)
        body = {"accountId": gateway_id, "orderId": int(order_id)}
        try:
            return _result(await self._act("/api/Order/cancel", body), order_id)
        except OutcomeUnknown:
            order = await self.order_status(account_id, order_id)
            if order is None or order.status is OrderStatus.WORKING:
                raise
            return BrokerResult(True, order_id, None, {"reconciled": f"order is {order.status}"})

    async def place_order(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerResult:
        """Order/place with a unique customTag, so a lost reply can be looked up, not re-sent."""
        gateway_id = self._gateway_id(account_id)
        tag = f"rm-{secrets.token_hex(8)}"
        body: dict[str, Any] = {
            "accountId": gateway_id, "contractId": contract_id_of(symbol),
            "type": int(mapping.GATEWAY_ORDER_TYPES[order_type]),
            "side": mapping.gateway_side(side), "size": quantity, "customTag": tag,
            "limitPrice": _number(limit_price), "stopPrice": _number(stop_price),
        }  # fmt: skip
        try:
            reply = await self._act("/api/Order/place", body)
        except OutcomeUnknown as error:
            placed = await self._tagged(gateway_id, tag)
            if placed is None:
                raise OutcomeUnknown(f"{error}; no order tagged {tag} found yet") from None
            return BrokerResult(True, placed, None, {"reconciled": f"found order {placed}"})
        order_id = reply.get("orderId")
        return _result(reply, None if order_id is None else str(order_id))

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult:
        body = {"accountId": self._gateway_id(account_id), "orderId": int(order_id),
                "stopPrice": _number(stop_price)}  # fmt: skip
        return _result(await self._act("/api/Order/modify", body), order_id)

    # Internals.

    def _rest_client(self) -> GatewayRest:
        if self._rest is None:
            credentials = self._credentials or load_credentials(self._options, self._secrets_dir)
            self._rest = GatewayRest(self._options.api_url, credentials, self.budget,
                                     self._options.request_timeout_seconds)  # fmt: skip
        return self._rest

    async def _hub_token(self, refused: str | None) -> str:
        rest = self._rest_client()
        if refused is not None:
            rest.invalidate(refused)
        try:
            token = await rest.token(force=refused is not None)
        except BrokerAuthFailed as error:
            if not self._login_refused:  # once per streak; the hubs keep retrying meanwhile
                self._login_refused = True
                self._alert("broker_login_refused", f"ProjectX {error}")
            raise
        self._login_refused = False
        return token

    def _gateway_id(self, account_id: str) -> int:
        gateway_id = self._accounts.gateway_id(account_id)
        if gateway_id is None:
            raise UnknownAccount(f"account {account_id} is not matched to a Gateway account")
        return gateway_id

    async def _call(self, path: str, body: dict[str, Any], urgent: bool = False) -> dict[str, Any]:
        return await self._rest_client().call(path, body, action=False, urgent=urgent)

    async def _act(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._rest_client().call(path, body, action=True)

    async def _positions(
        self, gateway_id: int, urgent: bool = False
    ) -> list[mapping.GatewayPosition]:
        body = {"accountId": gateway_id}
        reply = await self._call("/api/Position/searchOpen", body, urgent)
        positions = [
            mapping.position_from(r, str(gateway_id)) for r in reply.get("positions") or []
        ]
        for position in positions:
            await self._ensure_contract(position.contract_id)
        return positions

    async def _raw_positions(self, gateway_id: int, urgent: bool = False) -> dict[str, int]:
        positions = await self._positions(gateway_id, urgent)
        return {p.contract_id: p.size for p in positions if p.size}

    def _known_size(self, gateway_id: int, contract_id: str) -> int:
        """The position as the feed last saw it (no request: enforcement must not wait)."""
        return self._feed.positions.get(gateway_id, {}).get(contract_id, 0) if self._feed else 0

    async def _settled(self, gateway_id: int, contract_id: str, at_most: int) -> bool:
        """After a lost reply: has the position shrunk to `at_most` contracts?"""
        for delay in SETTLE_DELAYS:
            await asyncio.sleep(delay)
            try:
                size = (await self._raw_positions(gateway_id, urgent=True)).get(contract_id, 0)
            except BrokerError:
                continue
            if abs(size) <= at_most:
                return True
        return False

    async def _tagged(self, gateway_id: int, tag: str) -> str | None:
        since = self._clock.now() - timedelta(minutes=10)
        body = {"accountId": gateway_id, "startTimestamp": mapping.iso(since)}
        for delay in SETTLE_DELAYS:
            await asyncio.sleep(delay)
            try:
                reply = await self._call("/api/Order/search", body, urgent=True)
            except BrokerError:
                continue
            for record in reply.get("orders") or []:
                if record.get("customTag") == tag:
                    return str(record.get("id"))
        return None

    async def _cancel_resting(self, account_id: str, gateway_id: int, contract_id: str) -> None:
        """closeContract leaves bracket children working: cancel the contract's resting orders.

        Market orders are left alone: the close itself may still be working until it fills.
        """
        try:
            reply = await self._call("/api/Order/searchOpen", {"accountId": gateway_id}, True)
            for record in reply.get("orders") or []:
                order = mapping.order_from(record, account_id)
                if record.get("contractId") == contract_id and order.type is not OrderType.MARKET:
                    body = {"accountId": gateway_id, "orderId": int(record["id"])}
                    await self._act("/api/Order/cancel", body)
        except (BrokerError, mapping.PayloadError) as error:
            logger.warning("Cancelling orders left on {} after a close failed: {}",
                           contract_id, error)  # fmt: skip

    async def _ensure_contract(self, contract_id: str) -> None:
        """Fetch a contract's spec once (failures are retried at most once a minute)."""
        missed_at = self._contract_misses.get(contract_id)
        if contract_id in self.contracts or (missed_at and time.monotonic() - missed_at < 60):
            return
        try:
            reply = await self._call("/api/Contract/searchById", {"contractId": contract_id})
            self.contracts.learn(contract_id, reply)
        except (BrokerError, mapping.PayloadError) as error:
            self._contract_misses[contract_id] = time.monotonic()
            logger.warning("No contract spec for {} from the Gateway: {}", contract_id, error)


def _result(reply: dict[str, Any], order_id: str | None = None) -> BrokerResult:
    if reply.get("success"):
        return BrokerResult(True, order_id, None, reply)
    error = f"refused by the Gateway: errorCode {reply.get('errorCode')}"
    if reply.get("errorMessage"):
        error += f" ({reply['errorMessage']})"
    return BrokerResult(False, order_id, error, reply)


def _log_only(kind: str, message: str) -> None:
    logger.critical("{}: {}", kind, message)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
