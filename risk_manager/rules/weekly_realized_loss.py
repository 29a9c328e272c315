"""Rule 16: a loss limit on the trading week's realized PnL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from risk_manager.domain.money import ZERO, usd
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    LossGauge,
    Rule,
    RuleContext,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import WeeklyRealizedLoss
from risk_manager.rules.sessions import WEEKDAYS


def week_start(calendar: TradingCalendar, weekday: int, instant: datetime) -> datetime:
    """The latest session open on `weekday` (Mon = 0) at the daily reset time, at or before
    `instant` (the default week opens Sunday 17:00 Chicago); DST-safe like the calendar."""
    local = instant.astimezone(calendar.tz).date()
    for back in range(8):
        day = local - timedelta(days=back)
        if day.weekday() == weekday and calendar.reset_at(day) <= instant:
            return calendar.reset_at(day)
    raise AssertionError("a week always has the weekday")  # pragma: no cover


def weekly_realized(state: dict[str, Any], start: datetime) -> Decimal:
    """The realized PnL (net of fees) booked in the week that began at `start`."""
    if state.get("week") != start.isoformat():
        return ZERO
    return Decimal(state["realized"])


class WeeklyRealizedLossRule(Rule):
    """Trigger: realized PnL (net of fees) since the trading week began ≤ −`limit`; the week
    opens at the daily reset time on `week_starts` (default Sunday: the 17:00 Chicago open).
    Counting starts with the day's realized PnL when the rule first sees a fill. A fill counts
    in the week of its own time; one that arrives after its week ended counts in no week.

    Action: flatten the account and cancel all orders; a HALTED lockout.
    Release: the next week's open, or an admin (the week is then counted from that moment).
    """

    name = "weekly_realized_loss"
    stateful = True
    triggers = frozenset({Trigger.FILL})
    params: WeeklyRealizedLoss

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Add the fill's realized PnL to the week's; flatten and lock at the limit."""
        if not isinstance(event, FillTrigger) or event.effect is None:
            return []
        # A fill counts in the week it happened, not the one it reached us in: a late fill
        # from a week that has ended (a reconcile after a weekend disconnect) counts in none.
        # The engine's `now` is the fill's own time, so "ended" is also judged by the week
        # counted already (else such a fill would restart the running week's count).
        start = self._start(ctx.calendar, event.fill.ts)
        state = ctx.rule_state
        counted = state.get("week")
        if start < self._start(ctx.calendar, ctx.now) or (
            counted is not None
            and start < self._start(ctx.calendar, datetime.fromisoformat(counted))
        ):
            return []
        if ctx.take_release():  # an admin ended the lockout: count the week from here on
            realized = event.effect.realized - event.fill.fee
        elif "week" not in state:
            realized = ctx.account.day.realized_net  # this fill is already in the day's total
        else:
            realized = weekly_realized(state, start) + event.effect.realized - event.fill.fee
        state.update(week=start.isoformat(), realized=str(realized))
        ctx.state_changed = True
        gauge = self._gauge(realized)
        if not gauge.breached:
            return []
        until = self._start(ctx.calendar, start + timedelta(days=7, hours=1))
        reason = f"weekly realized loss {usd(realized)} reached the {usd(-self.params.limit)} limit"
        trigger = {"realized": str(realized), "limit": str(self.params.limit),
                   "week_start": start.isoformat()}  # fmt: skip
        lockout = LockoutRequest(LockoutEnd.TIME, until, reason, state=TradingState.HALTED)
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        start = self._start(ctx.calendar, ctx.now)
        return [self._gauge(weekly_realized(ctx.rule_state, start))]

    def _start(self, calendar: TradingCalendar, instant: datetime) -> datetime:
        return week_start(calendar, WEEKDAYS.index(self.params.week_starts), instant)

    def _gauge(self, realized: Decimal) -> LossGauge:
        return LossGauge("weekly realized loss", max(ZERO, -realized), self.params.limit)
