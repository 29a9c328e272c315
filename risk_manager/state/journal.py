"""The `enforcement` table: one row per enforcement batch (or admin audit record)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from risk_manager.state.durable import Writer

COLUMNS = (
    "id", "created_at", "account_id", "rule", "rules", "reason", "trigger", "steps", "status",
    "responses", "outcome", "first_action_ms", "latency_ms", "completed_at",
)  # fmt: skip


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


class JournalRows:
    """Writes of batch rows (inside the caller's transaction) and the pending ones."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def open(
        self,
        account_id: str,
        rules: list[str],
        reason: str,
        trigger: dict[str, Any],
        steps: list[dict[str, Any]],
        now: datetime,
        status: str,
    ) -> int:
        """Insert a batch and return its id."""
        return self._writer.insert(
            "enforcement",
            "INSERT INTO enforcement (id, created_at, account_id, rule, rules, reason, trigger,"
            " steps, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (None, now.isoformat(), account_id, rules[0], _dumps(rules), reason,
             _dumps(trigger), _dumps(steps), status),
        )  # fmt: skip

    def close(
        self,
        batch_id: int,
        *,
        status: str,
        responses: list[dict[str, Any]],
        outcome: str,
        first_action_ms: float | None,
        latency_ms: float | None,
        now: datetime,
    ) -> None:
        self._writer.execute(
            "UPDATE enforcement SET status = ?, responses = ?, outcome = ?, first_action_ms = ?,"
            " latency_ms = ?, completed_at = ? WHERE id = ?",
            (status, _dumps(responses), outcome, first_action_ms, latency_ms, now.isoformat(),
             batch_id),
        )  # fmt: skip

    def pending(self) -> list[tuple[int, str, list[dict[str, Any]]]]:
        """Batches committed but not completed: id, account, steps as recorded."""
        rows = self._writer.db.execute(
            "SELECT id, account_id, steps FROM enforcement WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        return [(i, a, json.loads(steps)) for i, a, steps in rows]


def record_view(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """An enforcement row as JSON for the API."""
    data = dict(zip(COLUMNS, row, strict=True))
    for key in ("rules", "trigger", "steps", "responses"):
        data[key] = json.loads(data[key])
    return data


def records(
    db: sqlite3.Connection, account_id: str | None, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """Newest first, of one account or all (ids are global); `before` pages back by id."""
    # COLUMNS is a constant of this module, not input.
    sql = f"SELECT {', '.join(COLUMNS)} FROM enforcement WHERE 1 = 1"  # noqa: S608
    args: list[Any] = []
    if account_id is not None:
        sql += " AND account_id = ?"
        args.append(account_id)
    if before is not None:
        sql += " AND id < ?"
        args.append(before)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [record_view(row) for row in db.execute(sql, args)]
