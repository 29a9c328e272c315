"""The live side of the adapter: both hubs, their pushes as events, and the stall detector.

The Gateway neither replays missed pushes nor keeps subscriptions, so after every
(re)connection the hubs subscribe again and the user hub announces `ConnectionChange(True)`:
the daemon then reconciles over REST, feeding only what it had not applied. A feed that goes
quiet while the socket stays open is caught by comparing REST positions with what the pushes
said, and is treated like a dropped link. (Quotes going quiet is the daemon's stale-quote
alert, not a reason to reconnect: a quiet market sends none.)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from websockets.exceptions import WebSocketException

from risk_manager.brokers.base import BrokerError, EventSink
from risk_manager.brokers.projectx import mapping
from risk_manager.brokers.projectx.accounts import AccountMap
from risk_manager.brokers.projectx.config import ProjectXOptions
from risk_manager.brokers.projectx.signalr import HubConnection, HubError, TokenSource
from risk_manager.brokers.projectx.symbols import contract_id_of
from risk_manager.clock import Clock
from risk_manager.domain.events import AccountUpdate, ConnectionChange, Event, OrderUpdate

Positions = dict[int, dict[str, int]]  # Gateway account → contract → signed size
STALL_CHECK_SECONDS = 1.0


class Feed:
    def __init__(
        self,
        options: ProjectXOptions,
        accounts: AccountMap,
        clock: Clock,
        token: TokenSource,
        ensure_contract: Callable[[str], Awaitable[None]],
        rest_positions: Callable[[int], Awaitable[dict[str, int]]],
        alert: Callable[[str, str], None],
    ) -> None:
        self._options = options
        self._alert = alert
        self._accounts = accounts
        self._clock = clock
        self._ensure_contract = ensure_contract
        self._rest_positions = rest_positions
        self._sink: EventSink | None = None
        self._seq = itertools.count(1)
        self._warned: set[str] = set()
        # Positions as the daemon sees them: the REST snapshot at each connect plus pushed fills.
        self.positions: Positions = {}
        self.position_pushed = asyncio.Condition()  # notified on every pushed fill
        self.quote_contracts = {contract_id_of(c) for c in options.quote_contracts}
        self._last_user_push = time.monotonic()
        self._last_probe = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        common: dict[str, Any] = {
            "negotiate": options.negotiate,
            "server_timeout": options.server_timeout_seconds,
            "backoff_cap": options.reconnect_max_seconds,
        }
        self.user = HubConnection(
            "user", options.user_hub_url, token,
            on_open=self._user_open, on_close=self._user_closed, **common,
        )  # fmt: skip
        self.market = HubConnection(
            "market", options.market_hub_url, token,
            on_open=self._market_open, on_close=_quiet, **common,
        )  # fmt: skip
        handlers = {
            "GatewayUserTrade": self._on_trade,
            "GatewayUserOrder": self._on_order,
            "GatewayUserPosition": self._on_position,
            "GatewayUserAccount": self._on_account,
            "GatewayLogout": self._on_logout,
        }
        for target, handler in handlers.items():
            self.user.on(target, self._guarded(target, handler))
        self.market.on("GatewayQuote", self._guarded("GatewayQuote", self._on_quote))

    async def start(self, sink: EventSink, wait_seconds: float) -> bool:
        """Start both hubs; True if the user hub was up within `wait_seconds`."""
        self._sink = sink
        self._tasks = [
            asyncio.create_task(self.user.run(), name="projectx-user-hub"),
            asyncio.create_task(self.market.run(), name="projectx-market-hub"),
            asyncio.create_task(self._watch(), name="projectx-stall-watch"),
        ]
        try:
            await asyncio.wait_for(self.user.connected.wait(), wait_seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        await self.user.stop()
        await self.market.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._sink = None

    def emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink(event)

    # Connection lifecycle.

    async def _user_open(self) -> None:
        calls = [("SubscribeAccounts", ())] + [
            (method, (gateway_id,))
            for gateway_id in self._accounts.gateway_ids()
            for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades")
        ]
        await asyncio.gather(*(self._subscribe(self.user, m, *args) for m, args in calls))
        self._last_user_push = self._last_probe = time.monotonic()
        await self._snapshot_positions()
        # Subscribed first, then announced: the daemon's reconcile cannot miss a push between.
        self.emit(ConnectionChange(self._clock.now(), True, "ProjectX user hub connected"))

    async def _snapshot_positions(self) -> None:
        """Start the pushed view from REST; the daemon's reconcile starts from the same truth."""
        for gateway_id in self._accounts.gateway_ids():
            try:
                self.positions[gateway_id] = await self._rest_positions(gateway_id)
            except BrokerError as error:
                logger.warning("Position snapshot of account {} failed: {}", gateway_id, error)
            self._want_quotes(self.positions.get(gateway_id, {}))

    async def _user_closed(self, reason: str) -> None:
        self.emit(ConnectionChange(self._clock.now(), False, f"ProjectX user hub: {reason}"))

    async def _market_open(self) -> None:
        contracts = sorted(self.quote_contracts)
        await asyncio.gather(
            *(self._subscribe(self.market, "SubscribeContractQuotes", c) for c in contracts)
        )

    def _want_quotes(self, sizes: dict[str, int]) -> None:
        for contract_id, size in sizes.items():
            if size and contract_id not in self.quote_contracts:
                self.quote_contracts.add(contract_id)
                if self.market.connected.is_set():
                    asyncio.get_running_loop().create_task(
                        self._subscribe(self.market, "SubscribeContractQuotes", contract_id),
                        name="projectx-subscribe-quotes",
                    )

    @staticmethod
    async def _subscribe(hub: HubConnection, method: str, *args: Any) -> None:
        """Invoke a Subscribe* method; a refusal or a missing completion is logged, not fatal
        (a user feed that stays silent is caught by the stall check, which reconnects)."""
        try:
            await hub.invoke(method, *args)
        except (HubError, TimeoutError, OSError, WebSocketException) as error:
            logger.warning("{} hub: {}{} failed: {}", hub.name, method, list(args), error)

    # Pushes.

    def _guarded(
        self, target: str, handler: Callable[[list[Any]], Awaitable[None]]
    ) -> Callable[[list[Any]], Awaitable[None]]:
        async def run(arguments: list[Any]) -> None:
            if target != "GatewayQuote":
                self._last_user_push = time.monotonic()
            try:
                await handler(arguments)
            except (mapping.PayloadError, ValueError, KeyError, IndexError, TypeError) as error:
                kind = f"{target}: {type(error).__name__}: {error}"
                if kind not in self._warned:  # logged once per kind, then skipped quietly
                    self._warned.add(kind)
                    logger.warning("Skipping a malformed {} push ({})", target, error)

        return run

    def _record(self, arguments: list[Any]) -> tuple[dict[str, Any], int, str] | None:
        """The unwrapped record, its Gateway account and our account; None if not ours."""
        record = mapping.unwrap(arguments[0])
        default = self._accounts.only()
        gateway_id = int(mapping.account_id_of(record, None if default is None else str(default)))
        account_id = self._accounts.daemon_id(gateway_id)
        return None if account_id is None else (record, gateway_id, account_id)

    async def _on_trade(self, arguments: list[Any]) -> None:
        found = self._record(arguments)
        if found is None:
            return
        record, gateway_id, account_id = found
        fill = mapping.trade_to_fill(record, account_id, self._clock.now())
        contract_id = str(record["contractId"])
        await self._ensure_contract(contract_id)
        held = self.positions.setdefault(gateway_id, {})
        if not fill.voided:
            held[contract_id] = held.get(contract_id, 0) + fill.signed_qty
            self._want_quotes(held)
        self.emit(fill)
        await self._notify()

    async def _notify(self) -> None:
        async with self.position_pushed:
            self.position_pushed.notify_all()

    async def wait_position(self, gateway_id: int, contract_id: str, at_most: int,
                            within: float) -> bool:  # fmt: skip
        """Wait until pushes show the position at `at_most` contracts or fewer."""

        def reached() -> bool:
            return abs(self.positions.get(gateway_id, {}).get(contract_id, 0)) <= at_most

        try:
            async with asyncio.timeout(within), self.position_pushed:
                await self.position_pushed.wait_for(reached)
        except TimeoutError:
            return False
        return True

    async def _on_order(self, arguments: list[Any]) -> None:
        found = self._record(arguments)
        if found is None:
            return
        record, _, account_id = found
        order = mapping.order_from(record, account_id, self._clock.now())
        self.emit(OrderUpdate(mapping.order_event_id(record), order))

    async def _on_position(self, arguments: list[Any]) -> None:
        record = mapping.unwrap(arguments[0])
        default = self._accounts.only()
        position = mapping.position_from(record, None if default is None else str(default))
        gateway_id = int(position.account_id)
        if self._accounts.daemon_id(gateway_id) is None:
            return
        # Only for quotes: the pushed view counts fills, which is what the daemon applies (a
        # position push without its trade would hide a missed fill from the stall check).
        self._want_quotes({position.contract_id: position.size})

    async def _on_account(self, arguments: list[Any]) -> None:
        record = mapping.unwrap(arguments[0])
        gateway_id = int(mapping.account_id_of({"accountId": record.get("id")}))
        account_id = self._accounts.daemon_id(gateway_id)
        if account_id is None:
            return
        info = mapping.account_from(record, account_id)
        # Account pushes carry no version: each receipt is a new event (applying one twice is
        # harmless, dropping a canTrade flip-back as a "duplicate" would not be).
        event_id = f"px:account:{gateway_id}:{time.time_ns()}:{next(self._seq)}"
        self.emit(AccountUpdate(event_id, account_id, self._clock.now(), info.balance,
                                info.can_trade))  # fmt: skip

    async def _on_logout(self, arguments: list[Any]) -> None:
        message = ("The ProjectX Gateway logged this session out (GatewayLogout: the same user "
                   "logged in elsewhere); logging in again and reconnecting")  # fmt: skip
        logger.critical(message)
        self._alert("broker_logged_out", message)
        self.user.drop("GatewayLogout")
        self.market.drop("GatewayLogout")

    async def _on_quote(self, arguments: list[Any]) -> None:
        quote = mapping.quote_from(arguments[0], arguments[1], self._clock.now())
        if quote is not None:
            self.emit(quote)

    # Stall detection.

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(STALL_CHECK_SECONDS)
            now, limit = time.monotonic(), self._options.stall_seconds
            quiet = min(now - self._last_user_push, now - self._last_probe)
            if self.user.connected.is_set() and quiet > limit:
                self._last_probe = now
                await self._probe()

    async def _probe(self) -> None:
        """Quiet user feed: do REST positions match the snapshot plus the pushed fills?"""
        for gateway_id in self._accounts.gateway_ids():
            try:
                sizes = await self._rest_positions(gateway_id)
            except BrokerError as error:
                logger.warning("Stall check of account {} failed: {}", gateway_id, error)
                return
            ours = {c: s for c, s in self.positions.get(gateway_id, {}).items() if s}
            if sizes != ours:
                logger.warning("ProjectX user feed stalled: the Gateway reports positions the "
                               "feed did not push; reconnecting and reconciling")  # fmt: skip
                self.user.drop("feed stalled")  # its close reports the link down
                return


async def _quiet(reason: str) -> None:
    """The market hub's loss needs no event: quotes going stale is reported by health."""
