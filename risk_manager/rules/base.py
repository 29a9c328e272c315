"""What rules see and what they return: pure decisions, never I/O.

A rule is a function of (trigger, account view, now) → violations. The enforcement engine alone
turns violations into broker actions and lockout rows (STYLE: evaluate, then enforce).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import AccountUpdate, ConnectionChange, Fill, Order, OrderUpdate
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.rules.params import RuleParams
from risk_manager.state.ledger import AccountState, FillEffect


class Trigger(StrEnum):
    """What a rule subscribes to."""

    FILL = "fill"  # a fill was booked (FillTrigger)
    QUOTE = "quote"  # positions in a symbol were revalued (QuoteTrigger)
    ORDER = "order"  # an order was placed, changed or ended (OrderUpdate)
    ACCOUNT = "account"  # balance / canTrade changed (AccountUpdate)
    CONNECTION = "connection"  # broker link up or down (ConnectionChange)
    TICK = "tick"  # once a second: timers, session ends (TickTrigger)
    DAY_END = "day_end"  # the trading day just ended (DayEndTrigger), before the counters reset


class ActionKind(IntEnum):
    """Broker actions, most severe first (SPEC §4 merge order)."""

    FLATTEN = 0  # close every position and cancel every order
    CLOSE = 1  # close one symbol's position (and cancel its orders)
    REDUCE = 2  # partially close one symbol
    CANCEL = 3  # cancel working orders (one symbol, or all when symbol is None)
    PLACE_STOP = 4  # trade management: place a protective stop
    MOVE_STOP = 5  # trade management: move an existing stop (only in the trader's favour)
    ALERT = 6  # no broker action


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    symbol: str | None = None
    quantity: int | None = None  # REDUCE: contracts to close; PLACE_STOP: stop size
    order_id: str | None = None  # MOVE_STOP / CANCEL of one order
    price: Decimal | None = None  # PLACE_STOP / MOVE_STOP: the stop price
    side: int | None = None  # PLACE_STOP: +1 buy stop, -1 sell stop


class TradingState(StrEnum):
    """What an account (or one symbol root of it) may do now, most permissive first."""

    ACTIVE = "active"  # trading allowed
    REDUCING = "reducing"  # only less exposure: new exposure is closed, entry orders cancelled
    HALTED = "halted"  # no exposure may stand: what it covers is closed and kept flat


TRADING_STATE_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class LockoutEnd(StrEnum):
    """How a lockout ends (SPEC §4)."""

    TIME = "time"  # at `until`
    DAILY_RESET = "daily_reset"  # at the trading day's reset
    NEXT_SESSION = "next_session"  # at `until` = the next allowed session start
    CAN_TRADE = "can_trade"  # when the broker reports canTrade again
    CONFIG_CHANGE = "config_change"  # when the config no longer asks for it
    NEVER = "never"  # only an admin ends it (e.g. a permanent trailing drawdown breach)


@dataclass(frozen=True, slots=True)
class LockoutRequest:
    end: LockoutEnd
    until: datetime | None  # the end instant for TIME / NEXT_SESSION / DAILY_RESET
    reason: str
    symbol: str | None = None  # a symbol root for a symbol-scoped lockout; None = account
    state: TradingState = TradingState.REDUCING  # what the lockout leaves allowed


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    account_id: str
    reason: str
    trigger: dict[str, Any]  # the values that breached, for the enforcement log
    actions: tuple[Action, ...] = ()
    lockout: LockoutRequest | None = None
    critical: bool = False  # alert at critical severity (e.g. canTrade lost)


@dataclass(frozen=True, slots=True)
class LossGauge:
    """How much of one loss limit is used: `loss` of `limit` dollars (both ≥ 0).

    A loss rule builds its gauge in one method and both its breach decision and the early
    warnings read that gauge, so the threshold lives in one place.
    """

    name: str  # what is measured, unique within the rule ("unrealized loss on MNQ")
    loss: Decimal
    limit: Decimal

    @property
    def breached(self) -> bool:
        return self.loss >= self.limit

    @property
    def percent(self) -> Decimal:
        return self.loss * 100 / self.limit


@dataclass(frozen=True, slots=True)
class FillTrigger:
    fill: Fill
    effect: FillEffect | None  # None for a voided fill


@dataclass(frozen=True, slots=True)
class QuoteTrigger:
    symbol: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class TickTrigger:
    pass


@dataclass(frozen=True, slots=True)
class DayEndTrigger:
    """Sent before counters reset; `balance` is the end-of-day balance."""

    ended_day: Any
    balance: Decimal


Event = FillTrigger | QuoteTrigger | OrderUpdate | AccountUpdate | ConnectionChange | TickTrigger
TriggerEvent = Event | DayEndTrigger


@dataclass(slots=True)
class RuleContext:
    """The read-only world a rule evaluates against (plus its own small persisted state)."""

    account: AccountState
    now: datetime
    calendar: TradingCalendar
    spec_of: Callable[[str], ContractSpec]
    entry_times: list[datetime]  # today's entry fills (opening or adding), oldest first
    working_orders: list[Order]
    rule_state: dict[str, Any] = field(default_factory=dict)  # persisted per account and rule
    state_changed: bool = False  # a stateful rule sets this after changing rule_state

    def take_release(self) -> bool:
        """True once after an admin ended this rule's lockout: the rule should start over from
        where the account stands, or it would lock again at its next evaluation."""
        if self.rule_state.pop(RELEASED, False):
            self.state_changed = True
            return True
        return False


RELEASED = "released"  # the rule-state key the engine sets when an admin ends a rule's lockout


class Rule:
    """Base class: a rule holds its validated params and answers the triggers it subscribes to."""

    name: ClassVar[str]
    triggers: frozenset[Trigger]  # a class default; a rule may narrow it per instance
    stateful: ClassVar[bool] = False  # True when evaluate() reads or writes ctx.rule_state

    def __init__(self, params: RuleParams) -> None:
        self.params = params

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Violations this event causes (empty when none)."""
        raise NotImplementedError

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        """A loss rule's current use of its limit(s); empty for rules without a loss limit."""
        return []
