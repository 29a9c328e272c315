"""The lockout book: several lockouts per account, account- or symbol-scoped, durable.

The book is the only place that starts or ends a lockout, and so the only one that announces
`lockout_ended`. Lockouts are released by stamping `ended_at` / `end_reason`, never deleted, so
their history stays queryable. What a lockout allows is decided by the gate (`gate.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger

from risk_manager.rules.base import LockoutEnd, LockoutRequest, TradingState
from risk_manager.state.lockout_rows import LockoutRows

Publish = Callable[[str, dict[str, Any]], None]

# Conditions with no clock end count as longer than any timed lockout.
_OPEN_ENDED = {LockoutEnd.NEVER: 3, LockoutEnd.CONFIG_CHANGE: 2, LockoutEnd.CAN_TRADE: 2}
_TIMED = (LockoutEnd.TIME, LockoutEnd.NEXT_SESSION)


@dataclass(slots=True)
class Lockout:
    id: int
    account_id: str
    rule: str
    symbol: str | None
    reason: str
    started_at: datetime
    end: LockoutEnd
    until: datetime | None
    state: TradingState = TradingState.REDUCING
    ended_at: datetime | None = None
    end_reason: str | None = None

    def covers(self, root: str | None) -> bool:
        """Account lockouts cover everything; symbol lockouts only their exact root."""
        return self.symbol is None or self.symbol == root

    def in_force(self, now: datetime) -> bool:
        """False once a timed lockout's end has passed (the next sweep stamps it)."""
        return not (self.end in _TIMED and self.until is not None and self.until <= now)

    def seconds_remaining(self, now: datetime) -> float | None:
        return None if self.until is None else max(0.0, (self.until - now).total_seconds())

    def outlasts(self, request: LockoutRequest) -> bool:
        """True when this lockout ends no earlier than the requested one would."""
        mine, theirs = _OPEN_ENDED.get(self.end, 0), _OPEN_ENDED.get(request.end, 0)
        if mine != theirs:
            return mine > theirs
        if mine:  # both open-ended of the same strength
            return True
        if request.until is None:
            return False
        return self.until is not None and self.until >= request.until


def lockout_view(lockout: Lockout, now: datetime) -> dict[str, Any]:
    """A lockout as JSON for the API and the event stream."""
    remaining = lockout.seconds_remaining(now)
    return {
        "id": lockout.id,
        "account_id": lockout.account_id,
        "rule": lockout.rule,
        "scope": "account" if lockout.symbol is None else "symbol",
        "symbol": lockout.symbol,
        "reason": lockout.reason,
        "state": lockout.state.value,
        "started_at": lockout.started_at.isoformat(),
        "ends": lockout.end.value,
        "until": None if lockout.until is None else lockout.until.isoformat(),
        "seconds_remaining": None if remaining is None else round(remaining, 1),
        "ended_at": None if lockout.ended_at is None else lockout.ended_at.isoformat(),
        "end_reason": lockout.end_reason,
    }


class LockoutBook:
    """Active lockouts in memory, every change written through to SQLite."""

    def __init__(self, rows: LockoutRows, publish: Publish | None = None) -> None:
        self.rows = rows
        self._publish = publish
        self._active: dict[str, list[Lockout]] = {}
        for row in rows.active():
            lockout = Lockout(
                row.id, row.account_id, row.rule, row.symbol, row.reason, row.started_at,
                LockoutEnd(row.end_kind), row.until, TradingState(row.state),
            )  # fmt: skip
            self._active.setdefault(lockout.account_id, []).append(lockout)

    def active(self, account_id: str) -> list[Lockout]:
        return list(self._active.get(account_id, ()))

    def holds(self, account_id: str, rule: str, request: LockoutRequest) -> bool:
        """True when `rule` already holds a lockout of this scope lasting at least as long."""
        return any(
            existing.rule == rule and existing.symbol == request.symbol
            and existing.outlasts(request)
            for existing in self._active.get(account_id, ())
        )  # fmt: skip

    def add(
        self, account_id: str, rule: str, request: LockoutRequest, now: datetime
    ) -> Lockout | None:
        """Record a lockout unless the same rule already holds one as long (inside a txn).

        A longer request from the same rule and scope supersedes the shorter one; lockouts of
        other rules are never touched, so a cooldown can't shorten a daily lockout.
        """
        for existing in self._active.get(account_id, ()):
            if existing.rule != rule or existing.symbol != request.symbol:
                continue
            if existing.outlasts(request):
                return None
            self.end(existing, "superseded", now)
        lockout_id = self.rows.insert(
            account_id,
            rule,
            request.symbol,
            request.reason,
            now,
            request.end,
            request.until,
            request.state,
        )
        lockout = Lockout(
            lockout_id, account_id, rule, request.symbol, request.reason, now,
            request.end, request.until, request.state,
        )  # fmt: skip
        self._active.setdefault(account_id, []).append(lockout)
        logger.bind(channel="enforcement", account=account_id).warning(
            "Lockout by {} ({}): {}; ends {}", rule, request.symbol or "account", request.reason,
            request.until.isoformat() if request.until else request.end.value,
        )  # fmt: skip
        return lockout

    def end(self, lockout: Lockout, reason: str, now: datetime) -> None:
        """Release one lockout, stamping why (expired, reset, condition, admin, …)."""
        lockout.ended_at, lockout.end_reason = now, reason
        self.rows.end(lockout.id, now, reason)
        remaining = [x for x in self._active.get(lockout.account_id, ()) if x.id != lockout.id]
        self._active[lockout.account_id] = remaining
        logger.bind(channel="enforcement", account=lockout.account_id).info(
            "Lockout {} by {} ended: {}", lockout.id, lockout.rule, reason
        )
        if self._publish is not None:
            self._publish("lockout_ended", lockout_view(lockout, now))

    def end_matching(
        self, account_id: str, kinds: set[LockoutEnd], reason: str, now: datetime
    ) -> list[Lockout]:
        """End every active lockout of the account whose end condition is in `kinds`."""
        ended = [x for x in self._active.get(account_id, ()) if x.end in kinds]
        for lockout in ended:
            self.end(lockout, reason, now)
        return ended

    def expired(self, now: datetime) -> list[Lockout]:
        """Timed lockouts whose end has passed (not yet stamped)."""
        return [
            lockout
            for lockouts in self._active.values()
            for lockout in lockouts
            if not lockout.in_force(now)
        ]
