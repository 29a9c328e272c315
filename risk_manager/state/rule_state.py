"""Small per-account, per-rule state the rules keep (e.g. a trailing high-water mark)."""

from __future__ import annotations

import json
from typing import Any

from risk_manager.state.durable import Writer


class RuleStateStore:
    """Cached in memory; written through inside the caller's transaction."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._cache: dict[tuple[str, str], dict[str, Any]] = {
            (account, rule): json.loads(state)
            for account, rule, state in writer.db.execute(
                "SELECT account_id, rule, state FROM rule_state"
            )
        }

    def get(self, account_id: str, rule: str) -> dict[str, Any]:
        """The rule's state dict (mutable; call put() after changing it)."""
        return self._cache.setdefault((account_id, rule), {})

    def put(self, account_id: str, rule: str, state: dict[str, Any]) -> None:
        self._cache[(account_id, rule)] = state
        self._writer.execute(
            "INSERT OR REPLACE INTO rule_state VALUES (?, ?, ?)",
            (account_id, rule, json.dumps(state, default=str)),
        )
