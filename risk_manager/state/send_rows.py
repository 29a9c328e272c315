"""The `closing_sends` table: closing orders sent whose outcome is not known yet."""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

from risk_manager.state.durable import Writer


class SendRow(NamedTuple):
    id: int
    account_id: str
    symbol: str
    side: int
    quantity: int | None  # None: the whole position
    position_before: int
    sent_at: datetime
    seen_before: frozenset[str]
    order_id: str | None
    acknowledged: bool
    filled_at: datetime | None


class SendRows:
    """Reads and writes of send rows (inside the caller's transaction)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def insert(
        self,
        account_id: str,
        symbol: str,
        side: int,
        quantity: int | None,
        position_before: int,
        sent_at: datetime,
        seen_before: frozenset[str],
    ) -> int:
        """A send about to go out; returns its id."""
        return self._writer.insert(
            "closing_sends",
            "INSERT INTO closing_sends (id, account_id, symbol, side, quantity, position_before,"
            " sent_at, seen_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (None, account_id, symbol, side, quantity, position_before, sent_at.isoformat(),
             json.dumps(sorted(seen_before))),
        )  # fmt: skip

    def name_order(self, send_id: int, order_id: str) -> None:
        """The broker's id for the send became known (its reply, or a lookup)."""
        self._writer.execute(
            "UPDATE closing_sends SET order_id = ? WHERE id = ?", (order_id, send_id)
        )

    def acknowledge(self, send_id: int, order_id: str | None) -> None:
        """The broker said it took the order (and named it, unless `order_id` is None)."""
        self._writer.execute(
            "UPDATE closing_sends SET acknowledged = 1, order_id = coalesce(?, order_id)"
            " WHERE id = ?",
            (order_id, send_id),
        )

    def filled(self, send_id: int, at: datetime) -> None:
        """The order filled (or the broker no longer knows it); its position may still lag."""
        self._writer.execute(
            "UPDATE closing_sends SET filled_at = ? WHERE id = ?", (at.isoformat(), send_id)
        )

    def delete(self, send_id: int) -> None:
        """The send's outcome is known and accounted for."""
        self._writer.execute("DELETE FROM closing_sends WHERE id = ?", (send_id,))

    def unfinished(self) -> list[SendRow]:
        """Every send still open, oldest first."""
        rows = self._writer.db.execute(
            "SELECT id, account_id, symbol, side, quantity, position_before, sent_at,"
            " seen_before, order_id, acknowledged, filled_at FROM closing_sends ORDER BY id"
        ).fetchall()
        return [
            SendRow(
                id_, account, symbol, side, quantity, before, datetime.fromisoformat(sent),
                frozenset(json.loads(seen)), order_id, bool(acked),
                None if filled is None else datetime.fromisoformat(filled),
            )
            for id_, account, symbol, side, quantity, before, sent, seen, order_id, acked, filled
            in rows
        ]  # fmt: skip
