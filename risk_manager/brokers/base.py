"""The seam every broker adapter implements: its protocol, the values it exchanges, its errors.

Contract for an adapter (read this before writing one):

- **Reads** (`accounts`, `account_info`, `open_positions`, `open_orders`, `order_status`,
  `fills_since`) return normalized values or raise one of the exceptions below; they never
  return broker payloads.
- **Actions** (`close_position`, `partial_close`, `cancel_order`, `place_order`,
  `modify_order`) return a `BrokerResult`: `ok` is the broker's verdict, `order_id` the id of
  the order the broker created or touched (as a string, whatever the broker's own type), `error`
  a human sentence when `ok` is false, and `raw` the broker's reply verbatim (kept only for the
  enforcement journal; nothing outside the adapter reads a field of it).
  A clean refusal (the broker answered "no": nothing to close, bad quantity, account disabled)
  is `BrokerResult(ok=False, ...)` or `OrderRejected`; both mean "the broker did nothing".
- **Errors** are named by the reaction they need:

  - `BrokerUnavailable`: nothing was sent (link down, connection refused, client-side rate
    budget exhausted before sending). Reaction: retry later, with backoff. Its subclass
    `UnknownAccount` says the broker does not know a configured account at all: reconcile
    skips that account (critical alert) instead of failing for every account.
  - `OutcomeUnknown`: the request may have reached the broker and been acted on (timeout,
    5xx or 429 *after* sending, reply lost). Reaction: never re-send blindly; wait for the
    order's final state (events, `order_status`) or re-read positions and orders, re-plan.
  - `OrderRejected`: the broker refused the request for good. Reaction: no retry of that
    request; journal it and escalate.
  - `BrokerAuthFailed`: credentials refused or session revoked. Reaction: critical; the
    account's enforcement attempts halt until the broker accepts the login again.

  All four derive from `BrokerError`, so a caller that only needs "it failed" catches that.
- **Events** are pushed into the `EventSink` given to `connect`, on the loop thread, in the order
  the broker reported them. An enforcement order's fills and status changes (`Fill`, `Order`
  with a final status) must be pushed like any other: the executor waits on them.
- **Optional capabilities** (checked with `isinstance`, never by adapter class):

  - `RouteProvider`: the adapter offers extra HTTP routes (the simulator's platform stand-in);
    the API mounts whatever `api_routers()` returns.
  - `ClockProvider`: the adapter sets the daemon's time (the simulator's shiftable clock, a
    replay's recorded time); otherwise the daemon runs on the wall clock it gave the factory.
  - `Driver`: the adapter drives the daemon (a replay plays its recording); the daemon runs
    `drive(settle)` as a task once it is online, and keeps serving after it returns.

Register an adapter with `risk_manager.brokers.registry.register` (see that module).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from risk_manager.clock import Clock
from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import Event, Fill, Order, OrderType, Side

if TYPE_CHECKING:
    from fastapi import APIRouter

EventSink = Callable[[Event], None]

# True inside the executor's tasks: an adapter with a client-side rate budget lets these
# requests (reads included) use the headroom it keeps for enforcement instead of waiting.
enforcing: ContextVar[bool] = ContextVar("enforcing", default=False)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: str
    name: str
    balance: Decimal
    can_trade: bool


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    account_id: str
    symbol: str
    size: int  # signed: long > 0, short < 0
    avg_price: Decimal


@dataclass(frozen=True, slots=True)
class BrokerResult:
    """The broker's answer to an action, as data (see the module docstring)."""

    ok: bool
    order_id: str | None = None
    error: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict)

    def journal(self) -> dict[str, object]:
        """The result as the enforcement journal records it."""
        data: dict[str, object] = {"ok": self.ok}
        if self.order_id is not None:
            data["order_id"] = self.order_id
        if self.error is not None:
            data["error"] = self.error
        if self.raw:
            data["raw"] = dict(self.raw)
        return data


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """One account as the broker reports it, for reconciling (taken by `reconcile`)."""

    info: AccountInfo
    fills: list[Fill]  # since the start of the trading day, oldest first
    positions: list[BrokerPosition]
    orders: list[Order]


class BrokerError(Exception):
    """Base of every broker failure; catch a subclass to react to it specifically."""


class BrokerUnavailable(BrokerError):
    """Nothing was sent (link down, connection refused, client-side rate budget): retry later."""


class UnknownAccount(BrokerUnavailable):
    """The broker does not know the account (a typo in the config, a closed account): nothing
    can be done for it until the configuration or the broker changes."""


class OutcomeUnknown(BrokerError):
    """The request may have reached the broker (timeout, 5xx, 429, lost reply after sending).

    Never re-send on this: reconcile (wait for the order's final state or re-read positions
    and orders) first. `order_id` is set when the broker's id is known anyway.
    """

    def __init__(self, message: str, order_id: str | None = None) -> None:
        super().__init__(message)
        self.order_id = order_id


class OrderRejected(BrokerError):
    """The broker refused the request for good: do not retry; journal it and escalate."""


class BrokerAuthFailed(BrokerError):
    """Credentials refused or session revoked: needs a human (critical); stop trying until
    the broker accepts the login again."""


class Broker(Protocol):
    """A connection to one broker holding one or more accounts."""

    kind: str

    async def connect(self, sink: EventSink) -> None:
        """Connect and start pushing normalized events into `sink` (called on the loop thread)."""

    async def close(self) -> None:
        """Stop streaming and release connections."""

    async def accounts(self) -> list[AccountInfo]:
        """Every account this login can see."""

    async def account_info(self, account_id: str) -> AccountInfo:
        """Balance and canTrade of one account."""

    async def open_positions(self, account_id: str) -> list[BrokerPosition]:
        """The account's non-flat positions, as the broker reports them now."""

    async def open_orders(self, account_id: str) -> list[Order]:
        """The account's working orders."""

    async def order_status(self, account_id: str, order_id: str) -> Order | None:
        """One order as the broker knows it now (any status), or None if it has no such order."""

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        """Fills at or after `since`, for reconciling after a restart."""

    async def close_position(self, account_id: str, symbol: str) -> BrokerResult:
        """Market order for the opposite side of the whole position."""

    async def partial_close(self, account_id: str, symbol: str, quantity: int) -> BrokerResult:
        """Market order for `quantity` contracts against the position."""

    async def cancel_order(self, account_id: str, order_id: str) -> BrokerResult:
        """Cancel one working order."""

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
        """Place an order (the executor uses it for protective stops)."""

    async def modify_order(
        self, account_id: str, order_id: str, *, stop_price: Decimal | None = None
    ) -> BrokerResult:
        """Move a working stop order's stop price."""

    def contract_spec(self, symbol: str) -> ContractSpec:
        """Tick size and value: the broker's when it knows them, else the built-in table."""


@runtime_checkable
class RouteProvider(Protocol):
    """Optional: a broker that adds HTTP routes to the daemon's API (mounted at startup)."""

    def api_routers(self) -> Sequence[APIRouter]:
        """The routers to include; they reach the broker through the app's runtime."""


@runtime_checkable
class ClockProvider(Protocol):
    """Optional: a broker that owns the daemon's clock (asked once, when the daemon is built)."""

    def clock(self) -> Clock:
        """The clock every part of the daemon reads."""


Settle = Callable[[], Awaitable[None]]


@runtime_checkable
class Driver(Protocol):
    """Optional: a broker that drives the daemon instead of only answering it (a replay)."""

    async def drive(self, settle: Settle) -> None:
        """Run once the daemon is online; `settle()` returns when the daemon has applied every
        event pushed so far and carried out the enforcement they caused. What `settle` awaits
        (the intake, the executor) waits in real time, never on the daemon's clock, so a
        driver that moves the clock only between settles cannot wait on itself."""
