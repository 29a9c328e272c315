"""The data path: broker events → state (committed) → risk hooks → listeners.

`handle()` is synchronous and runs on the loop thread; it is the single writer of account state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from loguru import logger

from risk_manager.brokers.base import BrokerPosition, BrokerSnapshot
from risk_manager.bus import EventBus
from risk_manager.domain.contracts import ContractSpec, UnknownContractError
from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    Quote,
)
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.state.ledger import AccountState, FillEffect, Position
from risk_manager.state.store import Store


class RiskHooks(Protocol):
    """What the risk engine needs from the data path (the engine itself lives in rules/)."""

    def on_committed(self, event: Event, account: AccountState, effect: FillEffect | None) -> None:
        """Called inside the event's transaction, after state changed: record effects here."""

    def on_quote(self, symbol: str, accounts: Iterable[AccountState]) -> None:
        """Called after positions in `symbol` were revalued (outside any transaction)."""

    def on_day_rolled(self, account: AccountState) -> None:
        """Called inside the reset's transaction after the account's day was zeroed."""

    def on_unknown_contract(self, account: AccountState, symbol: str, source: str) -> None:
        """Called inside a transaction for an event about a contract that cannot be priced."""

    def on_reconciled(self, account: AccountState) -> None:
        """Called after the account was brought in line with the broker (start, reconnect)."""

    def after_commit(self) -> None:
        """Called after each commit so queued actions can go out."""


class Pipeline:
    """Applies events to account state exactly once and durably."""

    def __init__(
        self,
        store: Store,
        calendar: TradingCalendar,
        spec_of: Callable[[str], ContractSpec],
        bus: EventBus,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.spec_of = spec_of
        self.bus = bus
        self.accounts: dict[str, AccountState] = {}
        self.prices: dict[str, Decimal] = {}
        self.quote_times: dict[str, datetime] = {}
        self.hooks: RiskHooks | None = None
        self.connected = False
        self._holders: dict[str, set[str]] = defaultdict(set)  # symbol → accounts holding it
        self._next_reset: datetime | None = None
        self.applied = 0  # non-quote events applied
        self.duplicates = 0  # events ignored because their id was applied before
        self.quotes = 0

    # -- set-up ---------------------------------------------------------------------------

    def signed_positions(self, account_id: str) -> dict[str, int]:
        """The account's positions as the event stream built them: symbol -> signed size.

        Empty until the account has been reconciled with the broker and while its link is
        down: then our books may be behind the broker (a close that filled while we were not
        listening), and the executor must not plan from them.
        """
        account = self.accounts.get(account_id)
        if account is None or not account.connected:
            return {}
        return {symbol: position.size for symbol, position in account.positions.items()}

    def add_account(self, account: AccountState) -> None:
        self.accounts[account.account_id] = account
        for symbol in account.positions:
            self._holders[symbol].add(account.account_id)

    def roll_day_if_due(self, now: datetime) -> list[AccountState]:
        """Start a new trading day for every account whose day has ended; returns them."""
        if self._next_reset is not None and now < self._next_reset:
            return []
        today = self.calendar.day_of(now)
        self._next_reset = self.calendar.reset_at(today)
        rolled = [a for a in self.accounts.values() if a.day.trading_day != today]
        if not rolled:
            return []
        return self.reset_day(rolled, now)

    def reset_day(self, accounts: list[AccountState], now: datetime) -> list[AccountState]:
        """Zero the day for `accounts` (the daily reset, or an admin's forced reset)."""
        today = self.calendar.day_of(now)
        rolled = accounts
        with self.store.transaction():
            for account in rolled:
                previous = account.day
                account.start_day(today)
                self.store.save_day(account.account_id, account.day)
                self.store.save_account(account)
                logger.bind(account=account.account_id).info(
                    "Trading day {} ended (realized {}); new day {}",
                    previous.trading_day, previous.realized_net, today,
                )  # fmt: skip
                if self.hooks:
                    self.hooks.on_day_rolled(account)
        for account in rolled:
            self.bus.publish("day_reset", {"account_id": account.account_id, "day": str(today)})
        if self.hooks:
            self.hooks.after_commit()
        return rolled

    # -- the hot path ---------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """Apply one normalized event."""
        if isinstance(event, Quote):
            self._on_quote(event)
        elif isinstance(event, Fill):
            self._on_fill(event)
        elif isinstance(event, OrderUpdate):
            self._on_order(event)
        elif isinstance(event, AccountUpdate):
            self._on_account(event)
        elif isinstance(event, ConnectionChange):
            self._on_connection(event)

    def _on_quote(self, quote: Quote) -> None:
        price = quote.price
        if price is None:
            return
        symbol = quote.symbol
        self.quotes += 1
        self.prices[symbol] = price
        self.quote_times[symbol] = quote.ts
        holders = self._holders.get(symbol)
        if not holders:
            return
        accounts = [self.accounts[account_id] for account_id in holders]
        for account in accounts:
            account.positions[symbol].mark(price)
        if self.hooks:
            self.hooks.on_quote(symbol, accounts)
        if self.bus.has_listeners:
            for account in accounts:
                self.bus.publish("pnl", self.pnl_message(account))

    def _account_for(self, event: Fill | OrderUpdate | AccountUpdate) -> AccountState | None:
        account = self.accounts.get(event.account_id)
        if account is None:
            logger.warning(
                "Ignoring {} for unconfigured account {}", event.event_id, event.account_id
            )
        return account

    def _on_fill(self, fill: Fill) -> None:
        account = self._account_for(fill)
        if account is None:
            return
        if fill.ts >= (self._next_reset or fill.ts):
            self.roll_day_if_due(fill.ts)
        with self.store.transaction():
            if not self.store.claim_event(fill.event_id, fill.account_id, "fill", fill.ts):
                self.duplicates += 1
                return
            effect = None
            account.last_event_at = fill.ts
            if not fill.voided and not self.priceable(fill.symbol):
                # Never booked (it cannot be valued), but claimed: a replay is a duplicate.
                if self.hooks:
                    self.hooks.on_unknown_contract(account, fill.symbol, fill.event_id)
            elif not fill.voided:
                effect = account.apply_fill(fill, self.spec_of(fill.symbol))
                self.store.insert_fill(
                    fill, account.day.trading_day, effect.realized, effect.opened
                )
                self.store.save_position(account.account_id, fill.symbol, effect.position)
                self.store.save_day(account.account_id, account.day)
                self._track_holding(account.account_id, fill.symbol, effect.position is not None)
            if self.hooks and (fill.voided or effect is not None):
                self.hooks.on_committed(fill, account, effect)
        self.applied += 1
        # Always: a fill moves realized PnL, which loss warnings react to at once.
        self.bus.publish("fill", _fill_message(fill, effect))
        if self.bus.has_listeners:
            self.bus.publish("pnl", self.pnl_message(account))
        if self.hooks:
            self.hooks.after_commit()

    def _track_holding(self, account_id: str, symbol: str, holds: bool) -> None:
        if holds:
            self._holders[symbol].add(account_id)
            price = self.prices.get(symbol)
            if price is not None:
                self.accounts[account_id].positions[symbol].mark(price)
        else:
            self._holders[symbol].discard(account_id)

    def _on_order(self, update: OrderUpdate) -> None:
        account = self._account_for(update)
        if account is None:
            return
        order = update.order
        with self.store.transaction():
            if not self.store.claim_event(
                update.event_id, order.account_id, "order", order.updated_at
            ):
                self.duplicates += 1
                return
            if order.status is OrderStatus.WORKING:
                account.orders[order.order_id] = order
            else:
                account.orders.pop(order.order_id, None)
            self.store.save_order(order)
            account.last_event_at = order.updated_at
            if self.hooks and not self.priceable(order.symbol):
                self.hooks.on_unknown_contract(account, order.symbol, update.event_id)
            elif self.hooks:
                self.hooks.on_committed(update, account, None)
        self.applied += 1
        if self.hooks:
            self.hooks.after_commit()

    def _on_account(self, update: AccountUpdate) -> None:
        account = self._account_for(update)
        if account is None:
            return
        with self.store.transaction():
            if not self.store.claim_event(update.event_id, update.account_id, "account", update.ts):
                self.duplicates += 1
                return
            account.balance = update.balance
            account.realized_in_balance = account.day.realized_net
            account.can_trade = update.can_trade
            account.last_event_at = update.ts
            self.store.save_account(account)
            if self.hooks:
                self.hooks.on_committed(update, account, None)
        self.applied += 1
        if self.hooks:
            self.hooks.after_commit()

    def _on_connection(self, change: ConnectionChange) -> None:
        self.connected = change.connected
        for account in self.accounts.values():
            account.connected = change.connected
        level = "INFO" if change.connected else "WARNING"
        state = "connected" if change.connected else "disconnected"
        logger.log(level, "Broker {}{}", state, f" ({change.reason})" if change.reason else "")
        self.bus.publish("connection", {"connected": change.connected, "reason": change.reason})
        if self.hooks:
            for account in self.accounts.values():
                self.hooks.on_committed(change, account, None)
            self.hooks.after_commit()

    def apply_snapshot(
        self, account: AccountState, snapshot: BrokerSnapshot, now: datetime
    ) -> dict[str, int]:
        """Apply the broker's fills we missed, then adopt its positions and orders.

        Fills go through `handle`, so ones already applied are skipped by event id; any
        remaining difference (e.g. fills from an earlier day) is resolved in the broker's favour.
        """
        account_id = account.account_id
        before = self.applied
        for fill in snapshot.fills:
            self.handle(fill)
        missed = self.applied - before
        info = snapshot.info
        if (info.balance, info.can_trade) != (account.balance, account.can_trade):
            # Through handle, so canTrade changes missed meanwhile start or end lockouts.
            self.handle(
                AccountUpdate(f"reconcile:{account_id}:{now.isoformat()}", account_id, now,
                              info.balance, info.can_trade)
            )  # fmt: skip
        theirs = {position.symbol: position for position in snapshot.positions}
        corrected = 0
        with self.store.transaction():
            account.connected = True
            for symbol in set(theirs) | set(account.positions):
                if not _same(theirs.get(symbol), account.positions.get(symbol)):
                    corrected += 1
                    self.adopt_position(account, symbol, theirs.get(symbol), now)
            account.orders = {order.order_id: order for order in snapshot.orders}
            self.store.replace_orders(account_id, snapshot.orders)
        if missed or corrected:
            logger.bind(account=account_id).warning(
                "Reconciled with broker: {} missed fill(s) applied, {} position(s) corrected",
                missed, corrected,
            )  # fmt: skip
        if self.hooks:
            self.hooks.on_reconciled(account)
        return {"missed_fills": missed, "corrected_positions": corrected}

    def adopt_position(
        self, account: AccountState, symbol: str, theirs: BrokerPosition | None, now: datetime
    ) -> None:
        """Replace our view of one position with the broker's (inside a transaction)."""
        if theirs is not None and theirs.size and not self.priceable(symbol):
            if self.hooks:
                self.hooks.on_unknown_contract(account, symbol, f"broker position in {symbol}")
            return
        if theirs is None or theirs.size == 0:
            account.positions.pop(symbol, None)
            self.store.save_position(account.account_id, symbol, None)
            self._holders[symbol].discard(account.account_id)
            return
        position = Position(symbol, self.spec_of(symbol), theirs.size, theirs.avg_price, now)
        account.positions[symbol] = position
        self.store.save_position(account.account_id, symbol, position)
        self._track_holding(account.account_id, symbol, True)

    def priceable(self, symbol: str) -> bool:
        """Whether the contract's tick facts are known (a real broker may report others)."""
        try:
            self.spec_of(symbol)
        except UnknownContractError:
            return False
        return True

    # -- views ----------------------------------------------------------------------------

    def pnl_message(self, account: AccountState) -> dict[str, object]:
        return {"account_id": account.account_id, **{k: str(v) for k, v in account.pnl().items()}}

    def snapshot(self) -> None:
        """Persist marks (the periodic snapshot; everything else is already committed).

        Skipped while the disk refuses writes: marks only save a restart waiting for a quote,
        not worth growing the queue of writes that matter.
        """
        if self.store.degraded is not None:
            return
        with self.store.transaction():
            self.store.snapshot_prices(list(self.accounts.values()))
            self.store.set_meta("snapshot_at", datetime.now().astimezone().isoformat())


def _fill_message(fill: Fill, effect: FillEffect | None) -> dict[str, object]:
    return {
        "account_id": fill.account_id,
        "event_id": fill.event_id,
        "symbol": fill.symbol,
        "side": fill.side.label,
        "quantity": fill.quantity,
        "price": str(fill.price),
        "fee": str(fill.fee),
        "realized": None if effect is None else str(effect.realized),
        "ts": fill.ts.isoformat(),
    }


def _same(theirs: BrokerPosition | None, ours: Position | None) -> bool:
    if theirs is None or ours is None:
        return False
    return theirs.size == ours.size and theirs.avg_price == ours.avg_price
