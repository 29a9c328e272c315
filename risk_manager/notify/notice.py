"""A notice: one message for a human, independent of the channel that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from risk_manager.notify.settings import SEVERITY_RANK, Severity


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # the bus message kind it came from ("lockout", "crash_recovered", …)
    severity: Severity
    title: str  # one short line: what happened, to which account
    lines: tuple[str, ...]  # details, one fact per line
    account_id: str | None  # None: about the daemon as a whole
    at: datetime
    fields: dict[str, Any] = field(default_factory=dict)  # raw values for the JSON webhook

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "severity": self.severity, "title": self.title,
            "lines": list(self.lines), "account_id": self.account_id,
            "at": self.at.isoformat(), "fields": self.fields,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        return cls(
            data["kind"], data["severity"], data["title"], tuple(data["lines"]),
            data["account_id"], datetime.fromisoformat(data["at"]), data.get("fields", {}),
        )  # fmt: skip


def summary_notice(notices: list[Notice], dropped: int, now: datetime, limit: int = 25) -> Notice:
    """Fold messages held back by a rate limit into one (most severe first, then oldest)."""
    ordered = sorted(notices, key=lambda n: (-n.rank, n.at))
    severity = ordered[0].severity if ordered else "info"
    total = len(notices) + dropped
    lines = [f"[{n.severity}] {n.title}" for n in ordered[:limit]]
    hidden = len(ordered) - limit
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    if dropped:
        lines.append(f"{dropped} older message(s) were dropped while the channel was failing")
    return Notice(
        "summary", severity, f"{total} messages held back by the rate limit", tuple(lines),
        None, now, {"count": total},
    )  # fmt: skip
