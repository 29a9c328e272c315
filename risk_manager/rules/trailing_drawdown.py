"""Rule 14: trailing drawdown floor (end-of-day or intraday high-water mark)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from risk_manager.domain.events import AccountUpdate
from risk_manager.domain.money import ZERO, cents, usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    DayEndTrigger,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    LossGauge,
    QuoteTrigger,
    Rule,
    RuleContext,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import TrailingDrawdown


def drawdown_floor(high_water: Decimal, max_loss: Decimal, starting_balance: Decimal) -> Decimal:
    """High-water − max loss, but never above the starting balance once it gets there."""
    return min(high_water - max_loss, starting_balance)


@dataclass(frozen=True, slots=True)
class DrawdownLevel:
    """Where the floor stands for one account (also read by loss-limit warnings)."""

    start: Decimal  # the starting balance, or the balance the drawdown was restarted from
    high_water: Decimal
    floor: Decimal


def drawdown_level(params: TrailingDrawdown, state: dict[str, Any]) -> DrawdownLevel:
    """The floor the rule's persisted state and parameters give."""
    start = state.get("start", params.starting_balance)
    return _level(start, state.get("high_water", start), params.max_loss)


@lru_cache(maxsize=64)
def _level(start: str | Decimal, high_water: str | Decimal, max_loss: Decimal) -> DrawdownLevel:
    # Asked on every quote; the persisted text changes only when the high-water mark moves.
    start, high_water = Decimal(start), Decimal(high_water)
    return DrawdownLevel(start, high_water, drawdown_floor(high_water, max_loss, start))


class TrailingDrawdownRule(Rule):
    """Trigger: the account's value (balance + unrealized PnL) ≤ floor, checked on every quote,
    fill, balance change and day end in both modes. floor = high-water − `max_loss`, capped at
    the starting balance; the high-water mark starts at `starting_balance` and rises to the
    highest end-of-day balance (`end_of_day`) or the highest value seen (`intraday`).

    Action: flatten the account and cancel all orders; a HALTED lockout.
    Release: `permanent = true` (default, prop-firm): never, only an admin ends it (the
    drawdown then starts over from the account's value at its next evaluation).
    `permanent = false`: the daily reset, and the drawdown restarts from the balance at that
    reset (high-water = start = that balance), so the next day has a full `max_loss` again.
    """

    name = "trailing_drawdown"
    stateful = True
    triggers = frozenset({Trigger.ACCOUNT, Trigger.DAY_END, Trigger.QUOTE, Trigger.FILL})
    params: TrailingDrawdown

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Move the high-water mark where the mode says, then flatten at or below the floor."""
        if not isinstance(event, DayEndTrigger | AccountUpdate | QuoteTrigger | FillTrigger):
            return []
        state = ctx.rule_state
        equity = cents(ctx.account.equity)
        if ctx.take_release():  # an admin ended the lockout: start over from here
            state.pop("breached", None)
            state["start"] = state["high_water"] = str(equity)
        if isinstance(event, DayEndTrigger) and state.pop("breached", False):
            # Non-permanent release: start over from the balance the reset found.
            state["start"] = state["high_water"] = str(event.balance)
            ctx.state_changed = True
        level = drawdown_level(self.params, state)
        if self.params.mode == "intraday":
            mark = equity
        else:
            mark = event.balance if isinstance(event, DayEndTrigger) else level.high_water
        if mark > level.high_water:
            state["high_water"] = str(mark)
            ctx.state_changed = True
            level = drawdown_level(self.params, state)
        if not self._gauge(equity, level.floor).breached:
            return []
        reason = (
            f"account value {usd(equity)} reached the trailing drawdown floor {usd(level.floor)}"
        )
        trigger = {
            "balance": str(ctx.account.balance), "equity": str(equity),
            "high_water": str(level.high_water), "floor": str(level.floor),
            "max_loss": str(self.params.max_loss),
        }  # fmt: skip
        if self.params.permanent:
            lockout = LockoutRequest(LockoutEnd.NEVER, None, reason, state=TradingState.HALTED)
        else:
            if not state.get("breached"):
                state["breached"] = True
                ctx.state_changed = True
            until = ctx.calendar.next_reset(ctx.now)
            lockout = LockoutRequest(
                LockoutEnd.DAILY_RESET, until, reason, state=TradingState.HALTED
            )
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        level = drawdown_level(self.params, ctx.rule_state)
        return [self._gauge(cents(ctx.account.equity), level.floor)]

    def _gauge(self, equity: Decimal, floor: Decimal) -> LossGauge:
        """The loss budget is `max_loss` above the floor; it is used up when equity ≤ floor."""
        used = floor + self.params.max_loss - equity
        return LossGauge("trailing drawdown", max(ZERO, used), self.params.max_loss)
