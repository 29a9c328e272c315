"""Rule 15: a daily loss limit that trails the day's highest account value."""

from __future__ import annotations

from datetime import date
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
from risk_manager.rules.params import TrailingDailyLoss
from risk_manager.state.ledger import AccountState


def account_value(account: AccountState) -> Decimal:
    """Balance + unrealized PnL, to the cent."""
    return cents(account.equity)


@lru_cache(maxsize=8)
def _day_key(day: date) -> str:
    # Asked on every quote; the trading day changes once a day.
    return day.isoformat()


@lru_cache(maxsize=64)
def _amount(text: str) -> Decimal:
    # The persisted peak is text; it changes only when the peak rises, not on every quote.
    return Decimal(text)


def daily_threshold(state: dict[str, Any], limit: Decimal) -> Decimal | None:
    """Where the trailing daily loss liquidates: the day's peak − limit (None before a peak)."""
    peak = state.get("peak")
    return None if peak is None else Decimal(peak) - limit


class TrailingDailyLossRule(Rule):
    """Trigger: the account's value (balance + unrealized PnL) ≤ the day's peak − `limit`. The
    peak starts at the day's opening value and only rises: with the account's highest value
    (`trail_from = "unrealized"`) or its highest value from closed trades only (`"realized"`).
    Reached at equality.

    Action: flatten the account and cancel all orders. `liquidate_and_block` adds a HALTED
    lockout; after a plain `liquidate` the peak restarts from the balance once flat, so trading
    can go on with a fresh `limit` below it.
    Release: the daily reset (the peak then restarts from the new day's opening value), or an
    admin (the peak restarts from the account's value then).
    """

    name = "trailing_daily_loss"
    stateful = True
    triggers = frozenset({Trigger.FILL, Trigger.QUOTE, Trigger.ACCOUNT, Trigger.DAY_END})
    params: TrailingDailyLoss

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Raise the day's peak, then liquidate at or below peak − limit."""
        if not isinstance(event, FillTrigger | QuoteTrigger | AccountUpdate | DayEndTrigger):
            return []
        account, state = ctx.account, ctx.rule_state
        booked = account.booked  # the value without open positions' PnL
        value = cents(booked + account.unrealized)
        mark = value if self.params.trail_from == "unrealized" else cents(booked)
        day = _day_key(account.day.trading_day)
        if state.get("day") != day:
            # A new day (or a first look): the peak starts at the day's opening value.
            opening = cents(booked - account.day.realized_net)
            state.update(day=day, peak=str(max(opening, mark)), restart=False)
            ctx.state_changed = True
        if ctx.take_release():  # an admin ended the lockout: the peak starts over from here
            state.update(peak=str(mark), restart=False)
        if state["restart"]:
            if account.positions:
                return []  # the liquidation is still going on
            state.update(peak=str(mark), restart=False)  # flat: mark = the balance
            ctx.state_changed = True
        peak = _amount(state["peak"])
        if mark > peak:
            peak = mark
            state["peak"] = str(mark)
            ctx.state_changed = True
        if not self._gauge(value, peak).breached:
            return []
        return [self._violation(ctx, value, peak)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        if "peak" not in ctx.rule_state:
            return []
        return [self._gauge(account_value(ctx.account), Decimal(ctx.rule_state["peak"]))]

    def _gauge(self, value: Decimal, peak: Decimal) -> LossGauge:
        return LossGauge("trailing daily loss", max(ZERO, peak - value), self.params.limit)

    def _violation(self, ctx: RuleContext, value: Decimal, peak: Decimal) -> Violation:
        threshold = peak - self.params.limit
        reason = (
            f"account value {usd(value)} reached the trailing daily loss threshold "
            f"{usd(threshold)} (peak {usd(peak)} - {usd(self.params.limit)})"
        )
        trigger = {
            "value": str(value), "peak": str(peak), "threshold": str(threshold),
            "limit": str(self.params.limit), "trail_from": self.params.trail_from,
        }  # fmt: skip
        lockout = None
        if self.params.action == "liquidate_and_block":
            until = ctx.calendar.next_reset(ctx.now)
            lockout = LockoutRequest(
                LockoutEnd.DAILY_RESET, until, reason, state=TradingState.HALTED
            )
        else:
            ctx.rule_state["restart"] = True
            ctx.state_changed = True
        actions = (Action(ActionKind.FLATTEN),)
        return Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)
