"""Rule 9: trading only inside allowed session windows (weekdays, times, overrides, holidays)."""

from __future__ import annotations

from datetime import datetime, timedelta

from risk_manager.domain.contracts import symbol_root
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    TickTrigger,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import SessionBlockOutside
from risk_manager.rules.sessions import LOOKAHEAD_DAYS, SessionSchedule


class SessionBlockOutsideRule(Rule):
    """Trigger: an entry fill outside the allowed windows; or, with `flatten_at_end`, positions
    still open once their session has ended (checked every tick).

    Action: close the symbol + cancel its orders (fill), or flatten the account (session end);
    both lock the account out.
    Release: the next session start.
    """

    name = "session_block_outside"
    triggers = frozenset({Trigger.FILL, Trigger.TICK})
    params: SessionBlockOutside

    def __init__(self, params: SessionBlockOutside) -> None:
        super().__init__(params)
        self.schedule = SessionSchedule.from_params(params)

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Block entries outside the session; flatten leftovers at its end."""
        if isinstance(event, FillTrigger):
            return self._on_fill(ctx, event)
        if isinstance(event, TickTrigger) and self.params.flatten_at_end:
            return self._on_tick(ctx)
        return []

    def _next_start(self, root: str, instant: datetime) -> datetime:
        # No window within the lookahead (e.g. a long holiday list): lock for the lookahead.
        found = self.schedule.next_open(root, instant)
        return found or instant + timedelta(days=LOOKAHEAD_DAYS)

    def _on_fill(self, ctx: RuleContext, event: FillTrigger) -> list[Violation]:
        # Only entries count: closing out a position outside hours reduces risk.
        if event.effect is None or not event.effect.opened:
            return []
        fill = event.fill
        root = symbol_root(fill.symbol)
        if self.schedule.is_open(root, fill.ts):
            return []
        until = self._next_start(root, fill.ts)
        local = fill.ts.astimezone(self.schedule.tz)
        reason = (
            f"{fill.symbol} entry at {local:%a %H:%M} {self.params.timezone} is outside the "
            f"allowed sessions (next opens {until.astimezone(self.schedule.tz):%a %d %b %H:%M})"
        )
        trigger = {
            "symbol": fill.symbol,
            "fill_ts": fill.ts.isoformat(),
            "next_open": until.isoformat(),
        }
        actions = (Action(ActionKind.CLOSE, fill.symbol), Action(ActionKind.CANCEL, fill.symbol))
        lockout = LockoutRequest(LockoutEnd.NEXT_SESSION, until, reason)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]

    def _on_tick(self, ctx: RuleContext) -> list[Violation]:
        # Already locked: the engine's gate flattens new fills, so don't re-raise every second.
        if not ctx.account.positions or self.name in ctx.active_lockouts:
            return []
        outside = sorted(
            symbol
            for symbol in ctx.account.positions
            if not self.schedule.is_open(symbol_root(symbol), ctx.now)
        )
        if not outside:
            return []
        until = max(self._next_start(symbol_root(symbol), ctx.now) for symbol in outside)
        reason = (
            f"session ended with open positions in {', '.join(outside)}: flatten until "
            f"{until.astimezone(self.schedule.tz):%a %d %b %H:%M} {self.params.timezone}"
        )
        trigger = {"symbols": outside, "now": ctx.now.isoformat(), "next_open": until.isoformat()}
        lockout = LockoutRequest(LockoutEnd.NEXT_SESSION, until, reason)
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]
