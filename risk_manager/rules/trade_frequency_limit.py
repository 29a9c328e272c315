"""Rule 6: entry fills per rolling minute / hour / trading day."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

from risk_manager.rules.base import (
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import DEFAULT_COOLDOWN, CooldownWindow, TradeFrequencyLimit

WINDOWS: dict[CooldownWindow, timedelta] = {
    "per_minute": timedelta(minutes=1),
    "per_hour": timedelta(hours=1),
}


def count_in_window(times: list[datetime], at: datetime, width: timedelta) -> int:
    """Entries in the rolling window (at − width, at]; `times` is sorted (the engine keeps it)."""
    return bisect_right(times, at) - bisect_right(times, at - width)


class TradeFrequencyLimitRule(Rule):
    """Trigger: an entry fill takes the count per rolling minute / hour / trading day above its
    limit (counted by fill time).

    Action: a cooldown lockout; the gate undoes the exposure the breaching fill opened (and that
    of any entry during the cooldown).
    Release: timer — `cooldown_seconds` of the window (per-day: the daily reset); the longest
    of the breached windows applies.
    """

    name = "trade_frequency_limit"
    triggers = frozenset({Trigger.FILL})
    params: TradeFrequencyLimit

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Cool down when an entry exceeds a frequency limit."""
        if not isinstance(event, FillTrigger) or event.effect is None or not event.effect.opened:
            return []
        fill = event.fill
        cooldown = {**DEFAULT_COOLDOWN, **self.params.cooldown_seconds}
        breaches: list[tuple[str, int, int, LockoutEnd, datetime]] = []
        for name, width in WINDOWS.items():
            limit = getattr(self.params, name)
            count = count_in_window(ctx.entry_times, fill.ts, width)
            if limit is not None and count > limit:
                until = ctx.now + timedelta(seconds=cooldown[name])
                breaches.append((name, count, limit, LockoutEnd.TIME, until))
        if self.params.per_day is not None:
            day = ctx.calendar.day_of(fill.ts)
            day_start = ctx.calendar.reset_at(day - timedelta(days=1))
            count = count_in_window(ctx.entry_times, fill.ts, fill.ts - day_start)
            if count > self.params.per_day:
                until = ctx.calendar.next_reset(ctx.now)
                limit = self.params.per_day
                breaches.append(("per_day", count, limit, LockoutEnd.DAILY_RESET, until))
        if not breaches:
            return []
        window, count, limit, end, until = max(breaches, key=lambda b: b[4])
        reason = "; ".join(
            f"{c} entries {w.replace('_', ' ')} exceed {n}" for w, c, n, *_ in breaches
        )
        trigger: dict[str, object] = {w: {"entries": c, "limit": n} for w, c, n, *_ in breaches}
        trigger["fill"] = {"symbol": fill.symbol, "ts": fill.ts.isoformat()}
        lockout = LockoutRequest(end, until, f"{reason} (cooldown from {window})")
        # The gate undoes the exposure this fill opened, as it does for every lockout.
        return [Violation(self.name, ctx.account.account_id, reason, trigger, (), lockout)]
