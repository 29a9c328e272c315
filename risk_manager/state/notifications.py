"""The SQL of notify/: the durable outbox of critical messages and the loss-warning log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from risk_manager.state.store import Store


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    created_at: datetime
    notice: dict[str, Any]
    attempts: int


class NotificationOutbox:
    """Critical messages per channel until delivered; every call commits on its own."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, channel: str, notice: dict[str, Any], now: datetime) -> int:
        with self.store.transaction() as db:
            return db.insert(
                "notification_outbox",
                "INSERT INTO notification_outbox (id, channel, created_at, notice)"
                " VALUES (?, ?, ?, ?)",
                (None, channel, now.isoformat(), json.dumps(notice)),
            )

    def pending(self, channel: str) -> list[OutboxRow]:
        """The channel's queued messages, oldest first."""
        rows = (
            self.store.reads()
            .execute(
                "SELECT id, channel, created_at, notice, attempts FROM notification_outbox "
                "WHERE channel = ? ORDER BY id",
                (channel,),
            )
            .fetchall()
        )
        return [
            OutboxRow(id_, name, datetime.fromisoformat(created), json.loads(notice), attempts)
            for id_, name, created, notice, attempts in rows
        ]

    def failed_attempt(self, ids: list[int], error: str) -> None:
        with self.store.transaction() as db:
            db.executemany(
                "UPDATE notification_outbox SET attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                [(error, id_) for id_ in ids],
            )

    def remove(self, ids: list[int]) -> None:
        """Forget delivered (or expired) messages."""
        with self.store.transaction() as db:
            db.executemany("DELETE FROM notification_outbox WHERE id = ?", [(i,) for i in ids])

    def drop_other_channels(self, keep: set[str]) -> dict[str, int]:
        """Delete the messages of every channel not in `keep`; returns the count per channel."""
        dropped = {name: count for name, count in self.depth().items() if name not in keep}
        if dropped:
            with self.store.transaction() as db:
                db.executemany(
                    "DELETE FROM notification_outbox WHERE channel = ?", [(n,) for n in dropped]
                )
        return dropped

    def depth(self) -> dict[str, int]:
        """Queued messages per channel."""
        rows = (
            self.store.reads()
            .execute("SELECT channel, COUNT(*) FROM notification_outbox GROUP BY channel")
            .fetchall()
        )
        return dict(rows)


class LossWarningLog:
    """Which loss warnings went out today, so each level is sent once per trading day."""

    def __init__(self, store: Store, today: date) -> None:
        self.store = store
        # Older days can never matter again: drop them, keep today's in memory.
        with store.transaction() as db:
            db.execute("DELETE FROM loss_warnings WHERE trading_day < ?", (today.isoformat(),))
        self._sent = {
            (account, date.fromisoformat(day), gauge, percent)
            for account, day, gauge, percent in store.reads().execute(
                "SELECT account_id, trading_day, gauge, percent FROM loss_warnings"
            )
        }

    def record(self, account_id: str, day: date, gauge: str, percent: int, now: datetime) -> bool:
        """True when this warning is new (and now recorded), False when sent before."""
        key = (account_id, day, gauge, percent)
        if key in self._sent:
            return False
        self._sent.add(key)
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO loss_warnings VALUES (?, ?, ?, ?, ?)",
                (account_id, day.isoformat(), gauge, percent, now.isoformat()),
            )
        return True
