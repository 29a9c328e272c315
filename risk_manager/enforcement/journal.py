"""The enforcement log: one SQLite row per batch plus a line in enforcement.log."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from risk_manager.enforcement.planner import Step
from risk_manager.rules.base import Violation

COLUMNS = (
    "id", "created_at", "account_id", "rule", "rules", "reason", "trigger", "steps", "status",
    "responses", "outcome", "first_action_ms", "latency_ms", "completed_at",
)  # fmt: skip


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _triggers(violations: list[Violation]) -> dict[str, Any]:
    """Trigger values by rule; a rule that breached several times (e.g. one per position in a
    tick) keeps all of them, as a list, instead of the last overwriting the others."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for violation in violations:
        by_rule.setdefault(violation.rule, []).append(violation.trigger)
    return {rule: found[0] if len(found) == 1 else found for rule, found in by_rule.items()}


def open_batch(
    db: sqlite3.Connection,
    account_id: str,
    violations: list[Violation],
    steps: list[Step],
    now: datetime,
    status: str = "pending",
) -> int:
    """Insert a batch (inside the event's transaction) and return its id."""
    rules = [v.rule for v in violations]
    cursor = db.execute(
        "INSERT INTO enforcement (created_at, account_id, rule, rules, reason, trigger, steps,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now.isoformat(), account_id, rules[0], _dumps(rules),
            "; ".join(v.reason for v in violations),
            _dumps(_triggers(violations)),
            _dumps([s.to_json() for s in steps]), status,
        ),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def close_batch(
    db: sqlite3.Connection,
    batch_id: int,
    *,
    status: str,
    responses: list[dict[str, Any]],
    outcome: str,
    first_action_ms: float | None,
    latency_ms: float | None,
    now: datetime,
) -> None:
    db.execute(
        "UPDATE enforcement SET status = ?, responses = ?, outcome = ?, first_action_ms = ?,"
        " latency_ms = ?, completed_at = ? WHERE id = ?",
        (status, _dumps(responses), outcome, first_action_ms, latency_ms, now.isoformat(),
         batch_id),
    )  # fmt: skip


def pending_batches(db: sqlite3.Connection) -> list[tuple[int, str, list[Step]]]:
    """Batches committed but not completed (a crash came between): id, account, steps."""
    rows = db.execute(
        "SELECT id, account_id, steps FROM enforcement WHERE status = 'pending' ORDER BY id"
    ).fetchall()
    return [(i, a, [Step.from_json(s) for s in json.loads(steps)]) for i, a, steps in rows]


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
