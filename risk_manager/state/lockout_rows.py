"""The `lockouts` table. Rows are never deleted: ending one stamps when and why."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from risk_manager.state.durable import Writer


class LockoutRow(NamedTuple):
    id: int
    account_id: str
    rule: str
    symbol: str | None
    reason: str
    started_at: datetime
    end_kind: str
    until: datetime | None
    state: str


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class LockoutRows:
    """Reads and writes of lockout rows (inside the caller's transaction)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def active(self) -> list[LockoutRow]:
        """Lockouts not ended yet, oldest first."""
        rows = self._writer.db.execute(
            "SELECT id, account_id, rule, symbol, reason, started_at, end_kind, until, state"
            " FROM lockouts WHERE ended_at IS NULL ORDER BY id"
        )
        return [
            LockoutRow(
                id_,
                account,
                rule,
                symbol,
                reason,
                datetime.fromisoformat(started),
                end,
                _instant(until),
                state,
            )
            for id_, account, rule, symbol, reason, started, end, until, state in rows
        ]

    def insert(
        self,
        account_id: str,
        rule: str,
        symbol: str | None,
        reason: str,
        started_at: datetime,
        end_kind: str,
        until: datetime | None,
        state: str,
    ) -> int:
        """A new active lockout; returns its id."""
        return self._writer.insert(
            "lockouts",
            "INSERT INTO lockouts (id, account_id, rule, symbol, reason, started_at, end_kind,"
            " until, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (None, account_id, rule, symbol, reason, started_at.isoformat(), end_kind,
             None if until is None else until.isoformat(), state),
        )  # fmt: skip

    def end(self, lockout_id: int, ended_at: datetime, reason: str) -> None:
        """Stamp a lockout as ended."""
        self._writer.execute(
            "UPDATE lockouts SET ended_at = ?, end_reason = ? WHERE id = ?",
            (ended_at.isoformat(), reason, lockout_id),
        )
