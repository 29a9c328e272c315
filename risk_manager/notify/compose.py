"""Turn bus messages into notices: the wording a trader reads on a phone.

Enforcement is reported once per batch with its outcome: the violations of a batch that has
broker work are held until the executor reports how it went. Any bus message carrying
`severity` and `message` (an alert, see bus.py) becomes a notice without code here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.notify.notice import Notice
from risk_manager.notify.settings import SEVERITY_RANK, Severity
from risk_manager.notify.text import humanize, local_time, usd

_PROTECTIVE = frozenset({"place_stop", "move_stop"})
_OPEN_ENDS = {
    "never": "permanently (admin unlock only)",
    "can_trade": "until the broker allows trading again",
    "config_change": "until the config no longer blocks it",
}
# Trigger keys that hold dollars when their value is a decimal string; the same key holding an
# int is a count (max_contracts' `limit` is contracts, daily_realized_loss' is dollars).
_MONEY_KEYS = frozenset({
    "realized", "unrealized", "limit", "balance", "equity", "high_water", "floor", "max_loss",
    "loss", "tier_loss", "target", "total", "value", "peak", "threshold",
})  # fmt: skip


def _values(trigger: Mapping[str, Any]) -> str:
    parts = []
    for key, value in trigger.items():
        if value is None or value == "None":
            continue
        money = key in _MONEY_KEYS and not isinstance(value, int)
        shown = usd(value) if money else str(value)
        parts.append(f"{key.replace('_', ' ')} {shown}")
    return ", ".join(parts)


def _listed(value: Any) -> str:
    """A list as `1, 2` rather than Python's `[1, 2]` (brackets read badly on a phone)."""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _protective(actions: list[str] | None) -> bool:
    return bool(actions) and set(actions or ()) <= _PROTECTIVE


class Composer:
    """Builds notices; remembers pending batches' violations until their outcome arrives."""

    def __init__(
        self, account_names: Mapping[str, str], zone: ZoneInfo, now: Callable[[], datetime]
    ) -> None:
        self.account_names = account_names
        self.zone = zone
        self.now = now
        self._batches: dict[int, list[dict[str, Any]]] = {}

    def compose(self, kind: str, data: dict[str, Any]) -> Notice | None:
        """The notice for one bus message, or None when it is not worth a message (yet)."""
        handler = _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, data)
        if data.get("severity") in SEVERITY_RANK and data.get("message"):
            return self._alert(kind, data)
        return None

    def account(self, account_id: str | None) -> str:
        if account_id is None:
            return "daemon"
        name = self.account_names.get(account_id)
        return f"{account_id} ({name})" if name and name != account_id else account_id

    def _notice(
        self, kind: str, severity: Severity, title: str, lines: list[str],
        account_id: str | None, fields: dict[str, Any],
    ) -> Notice:  # fmt: skip
        now = self.now()
        lines = [*lines, local_time(now, self.zone, now)]
        return Notice(kind, severity, title, tuple(lines), account_id, now, fields)

    def _alert(self, kind: str, data: dict[str, Any]) -> Notice:
        account_id = data.get("account_id")
        title = f"{humanize(kind)} — {self.account(account_id)}"
        return self._notice(kind, data["severity"], title, [str(data["message"])], account_id,
                            data)  # fmt: skip

    def _violation(self, data: dict[str, Any]) -> Notice | None:
        if data.get("status") == "pending":
            self._batches.setdefault(data["batch_id"], []).append(data)
            return None
        return self._enforcement_notice([data], None)

    def _enforcement(self, data: dict[str, Any]) -> Notice | None:
        status = data["status"]
        violations = self._batches.get(data["batch_id"], [])
        if status != "pending":  # a scheduled retry reports again later
            self._batches.pop(data["batch_id"], None)
        return self._enforcement_notice(violations, data)

    def _enforcement_notice(
        self, violations: list[dict[str, Any]], result: dict[str, Any] | None
    ) -> Notice:
        first = violations[0] if violations else {}
        account_id = first.get("account_id") or (result or {}).get("account_id")
        # No violations known: a batch resumed after a restart reports only its outcome.
        batch = f"batch {(result or {}).get('batch_id')}"
        rules = ", ".join(dict.fromkeys(v["rule"] for v in violations)) or batch
        lines = [str(v["reason"]) for v in violations]
        lines += [_values(v["trigger"]) for v in violations if v.get("trigger")]
        severity: Severity = "warning"
        if any(v.get("critical") for v in violations):
            severity = "critical"
        elif violations and all(_protective(v.get("actions")) for v in violations):
            severity = "info"  # trade management placing or moving a stop: routine
        if result is None:
            title = f"{rules} — {self.account(account_id)}"
            lines.append("No broker action needed")
        elif result["status"] == "done":
            title = f"Enforced {rules} — {self.account(account_id)}"
            lines.append(f"Outcome: {result['outcome']} ({result['latency_ms']:.0f} ms)")
        else:
            severity = "critical"
            failed = "FAILED, retrying" if result["status"] == "pending" else "FAILED"
            title = f"Enforcement {failed}: {rules} — {self.account(account_id)}"
            lines.append(f"Attempt {result['attempt']}: {result['outcome']}")
        fields = {"rules": [v["rule"] for v in violations], "violations": violations,
                  "result": result}  # fmt: skip
        return self._notice("enforcement", severity, title, lines, account_id, fields)

    def _lockout(self, data: dict[str, Any]) -> Notice:
        account_id = data["account_id"]
        scope = "account" if data.get("symbol") is None else str(data["symbol"])
        if data.get("until"):
            ends = local_time(datetime.fromisoformat(data["until"]), self.zone, self.now())
            ends = f"until {ends}" + (" (daily reset)" if data["ends"] == "daily_reset" else "")
        else:
            ends = _OPEN_ENDS.get(data["ends"], data["ends"])
        title = f"Locked out ({scope}) {ends} — {self.account(account_id)}"
        lines = [f"Rule: {data['rule']}", str(data["reason"])]
        return self._notice("lockout", "warning", title, lines, account_id, data)

    def _lockout_ended(self, data: dict[str, Any]) -> Notice:
        account_id = data["account_id"]
        rule = data.get("rule", f"lockout {data.get('id')}")
        why = data.get("end_reason")
        title = f"Lockout by {rule} ended{f' ({why})' if why else ''} — {self.account(account_id)}"
        lines = [str(data["reason"])] if data.get("reason") else []
        return self._notice("lockout_ended", "info", title, lines, account_id, data)

    def _admin(self, data: dict[str, Any]) -> Notice:
        action = data["action"]
        account_id = data.get("account_id")
        details = data.get("details") or {}
        severity: Severity = "warning" if "refused" in action else "info"
        title = f"Admin {action} — {self.account(account_id)}"
        lines = [f"{key.replace('_', ' ')}: {_listed(value)}" for key, value in details.items()
                 if value]  # fmt: skip
        return self._notice("admin", severity, title, lines, account_id, data)


_HANDLERS: dict[str, Callable[[Composer, dict[str, Any]], Notice | None]] = {
    "violation": Composer._violation,
    "enforcement": Composer._enforcement,
    "lockout": Composer._lockout,
    "lockout_ended": Composer._lockout_ended,
    "admin": Composer._admin,
}
