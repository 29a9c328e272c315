"""The enforcement log in domain terms: violations and steps in, rows kept by `state`, and
the same record announced on the bus."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from risk_manager.bus import EventBus
from risk_manager.enforcement.lockouts import Lockout, lockout_view
from risk_manager.enforcement.planner import Step
from risk_manager.rules.base import Violation
from risk_manager.state.store import Store


def _triggers(violations: list[Violation]) -> dict[str, Any]:
    """Trigger values by rule; a rule that breached several times (e.g. one per position in a
    tick) keeps all of them, as a list, instead of the last overwriting the others."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for violation in violations:
        by_rule.setdefault(violation.rule, []).append(violation.trigger)
    return {rule: found[0] if len(found) == 1 else found for rule, found in by_rule.items()}


def open_batch(
    store: Store,
    account_id: str,
    violations: list[Violation],
    steps: list[Step],
    now: datetime,
    status: str = "pending",
) -> int:
    """Record a batch (inside the event's transaction) and return its id."""
    return store.journal.open(
        account_id, [v.rule for v in violations], "; ".join(v.reason for v in violations),
        _triggers(violations), [s.to_json() for s in steps], now, status,
    )  # fmt: skip


def pending_batches(store: Store) -> list[tuple[int, str, list[Step]]]:
    """Batches committed but not completed (a crash came between): id, account, steps."""
    return [
        (batch_id, account_id, [Step.from_json(step) for step in steps])
        for batch_id, account_id, steps in store.journal.pending()
    ]


def announce(
    bus: EventBus, account_id: str, batch_id: int, status: str, violations: list[Violation],
    lockouts: list[Lockout], now: datetime,
) -> None:  # fmt: skip
    """Publish a batch's violations and the lockouts it set; a pending batch's outcome follows
    as an "enforcement" message from the executor."""
    for violation in violations:
        bus.publish("violation", {
            "account_id": account_id, "rule": violation.rule, "reason": violation.reason,
            "trigger": violation.trigger, "critical": violation.critical,
            "actions": [action.kind.name.lower() for action in violation.actions],
            "batch_id": batch_id, "status": status,
        })  # fmt: skip
    for lockout in lockouts:
        bus.publish("lockout", lockout_view(lockout, now))
