"""The `trader_sessions` table: clock-in / clock-out rows, at most one open."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import NamedTuple

from risk_manager.state.durable import Writer


class SessionRow(NamedTuple):
    id: int
    started_at: datetime
    ended_at: datetime | None


def _stamp(instant: datetime) -> str:
    # Fixed width (always microseconds, always UTC) so text order is time order in SQL.
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def _row(row: tuple[int, str, str | None]) -> SessionRow:
    ended = None if row[2] is None else datetime.fromisoformat(row[2])
    return SessionRow(row[0], datetime.fromisoformat(row[1]), ended)


class SessionAlreadyOpen(Exception):
    """A session is open already (the one-open-session index refused another)."""


class TraderSessionRows:
    """Reads and writes of session rows."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def open_session(self) -> SessionRow | None:
        row = self._writer.db.execute(
            "SELECT id, started_at, ended_at FROM trader_sessions WHERE ended_at IS NULL"
        ).fetchone()
        return None if row is None else _row(row)

    def start(self, started_at: datetime) -> int:
        """Open a session (inside a transaction); SessionAlreadyOpen if one is."""
        try:
            return self._writer.insert(
                "trader_sessions",
                "INSERT INTO trader_sessions (id, started_at) VALUES (?, ?)",
                (None, _stamp(started_at)),
            )
        except sqlite3.IntegrityError:
            raise SessionAlreadyOpen from None

    def finish(self, session_id: int, ended_at: datetime) -> None:
        self._writer.execute(
            "UPDATE trader_sessions SET ended_at = ? WHERE id = ?", (_stamp(ended_at), session_id)
        )

    def overlapping(self, start: datetime, end: datetime) -> list[SessionRow]:
        """Sessions that overlap [start, end), oldest first."""
        rows = self._writer.db.execute(
            "SELECT id, started_at, ended_at FROM trader_sessions"
            " WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?) ORDER BY started_at",
            (_stamp(end), _stamp(start)),
        ).fetchall()
        return [_row(row) for row in rows]
