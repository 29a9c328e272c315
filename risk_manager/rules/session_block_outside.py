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
    """Trigger: an entry fill outside the windows that apply to its symbol root (its own
    `overrides` entry, else the account-wide `windows`); or, with `flatten_at_end`, a position
    still open once its windows have closed (checked every tick).

    Action: a lockout (the gate closes the exposure the fill opened and cancels the orders it
    covers); at a session's end, close each position outside its windows. A root with its own
    override gets a lockout of that root only; a breach of the account-wide windows locks the
    account. Positions inside their windows are never touched. Lockouts are REDUCING: positions
    inside their own windows may stand.
    Release: the next start of the breached windows (for the root, or the account).
    """

    name = "session_block_outside"
    triggers = frozenset({Trigger.FILL, Trigger.TICK})
    params: SessionBlockOutside

    def __init__(self, params: SessionBlockOutside) -> None:
        super().__init__(params)
        self.schedule = SessionSchedule.from_params(params)

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Block entries outside the session; close leftovers at its end."""
        if isinstance(event, FillTrigger):
            return self._on_fill(ctx, event)
        if isinstance(event, TickTrigger) and self.params.flatten_at_end:
            return self._on_tick(ctx)
        return []

    def _scope(self, root: str) -> str | None:
        """The lockout scope a breach in `root` earns: its own root when overridden."""
        return root if root in self.params.overrides else None

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
        local = fill.ts.astimezone(self.schedule.tz)
        whose = f"{root}'s own" if self._scope(root) else "the allowed"
        until = self._next_start(root, fill.ts)
        reason = (
            f"{fill.symbol} entry at {local:%a %H:%M} {self.params.timezone} is outside "
            f"{whose} sessions (next opens {until.astimezone(self.schedule.tz):%a %d %b %H:%M})"
        )
        scope = self._scope(root)
        trigger = {
            "symbol": fill.symbol, "fill_ts": fill.ts.isoformat(),
            "next_open": until.isoformat(), "scope": scope or "account",
        }  # fmt: skip
        lockout = LockoutRequest(LockoutEnd.NEXT_SESSION, until, reason, scope)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, (), lockout)]

    def _on_tick(self, ctx: RuleContext) -> list[Violation]:
        outside = sorted(
            symbol
            for symbol in ctx.account.positions
            if not self.schedule.is_open(symbol_root(symbol), ctx.now)
        )
        violations = []
        # One violation per lockout scope: each overridden root alone, the rest as the account.
        by_scope: dict[str | None, list[str]] = {}
        for symbol in outside:
            by_scope.setdefault(self._scope(symbol_root(symbol)), []).append(symbol)
        for scope, symbols in by_scope.items():
            until = max(self._next_start(symbol_root(s), ctx.now) for s in symbols)
            reason = (
                f"session ended with open positions in {', '.join(symbols)}: closed, locked "
                f"until {until.astimezone(self.schedule.tz):%a %d %b %H:%M} {self.params.timezone}"
            )
            trigger = {"symbols": symbols, "now": ctx.now.isoformat(),
                       "next_open": until.isoformat(), "scope": scope or "account"}  # fmt: skip
            lockout = LockoutRequest(LockoutEnd.NEXT_SESSION, until, reason, scope)
            actions = tuple(Action(ActionKind.CLOSE, symbol) for symbol in symbols)
            violations.append(
                Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)
            )
        return violations
