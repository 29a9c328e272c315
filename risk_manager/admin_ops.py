"""Admin operations behind the authenticated routes: config show / reload / replace, unlock,
flatten, forced daily reset and stop. Every operation leaves an audit record.

Hot reload applies only what can change atomically while running: profiles (rules), which
profile each running account uses and `stale_quote_seconds`. Everything
else ([daemon] listening and logging, [broker], [trading_day], the set of accounts and their
names) is written to the file but waits for a restart, and the reply says so; it is never
half-applied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from risk_manager.api.views import order_view, position_view
from risk_manager.config.loader import ConfigError, decode, load_config, parse_config
from risk_manager.config.models import AccountConfig, Config
from risk_manager.config.toml_writer import to_toml
from risk_manager.enforcement.lockouts import lockout_view
from risk_manager.errors import RequestError
from risk_manager.rules.registry import build_rules
from risk_manager.runtime import Runtime

# [daemon] settings read on every use, so they take effect without a restart.
# allow_admin_unlock is deliberately not one of them: switching it on and unlocking in the
# next breath would make `allow_admin_unlock = false` meaningless.
LIVE_DAEMON_FIELDS = ("stale_quote_seconds",)
LIVE_DAEMON_KEYS = frozenset(f"daemon.{name}" for name in LIVE_DAEMON_FIELDS)


def config_rejected(error: ConfigError) -> RequestError:
    """A 422 listing every problem as "key: reason"."""
    message = "configuration refused, nothing changed: " + "; ".join(error.problems)
    return RequestError(422, "invalid_config", message, error.problems)


def diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two JSON-like documents."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys: list[str] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                keys.append(path)
            else:
                keys += diff_keys(old[key], new[key], path)
        return keys
    return [] if old == new else [prefix or "(top level)"]


def _as_json(config: Config) -> dict[str, Any]:
    return config.model_dump(mode="json")


# -- the service --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated new config: what goes to the file, what runs now, and what changed."""

    file_config: Config
    effective: Config
    changed: list[str]
    applied: list[str]
    restart_required: list[str]


class AdminOps:
    """The service object the admin router calls; holds the file's last applied config."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # The config as the file had it at start (before command-line overrides such as
        # --port): restart-only keys are compared with this to say what still needs a restart.
        try:
            self._boot = load_config(runtime.config_path)
        except ConfigError:
            self._boot = runtime.config
        self._file = self._boot

    # -- config ---------------------------------------------------------------------------

    def show_config(self) -> dict[str, Any]:
        """The config file's text and the effective (running) config."""
        try:
            text = self.runtime.config_path.read_text(encoding="utf-8")
        except OSError as error:
            raise RequestError(
                500, "config_unreadable", f"cannot read the config file: {error.strerror}"
            ) from None
        # A read changes nothing the trader needs to see: the system log records it, the
        # per-account enforcement log (the trader's record of what was done) stays clean.
        logger.info("Admin read the configuration")
        return {
            "text": text,
            "effective": _as_json(self.runtime.config),
            "restart_required": self._pending_restart(self._file),
        }

    def reload(self) -> dict[str, Any]:
        """Re-read the config file and apply it; on any problem keep the running config."""
        path = self.runtime.config_path
        try:
            text = path.read_text(encoding="utf-8")
            plan = self._plan(parse_config(decode(text, path.name), path.name))
        except OSError as error:
            self._audit_all("config reload refused", {"problems": [error.strerror]})
            raise RequestError(
                500, "config_unreadable", f"cannot read the config file: {error.strerror}"
            ) from None
        except ConfigError as error:
            self._audit_all("config reload refused", {"problems": error.problems})
            raise config_rejected(error) from None
        self._apply(plan)
        return self._report("config reload", plan)

    def replace(self, body: str, *, as_json: bool) -> dict[str, Any]:
        """Validate a whole new config (TOML text or a JSON object), write it, apply it."""
        source = "request body"
        try:
            document = decode(body, source, as_json=as_json)
            if as_json:
                text = to_toml(document)
                # The file must say exactly what was sent: check the TOML round trip.
                if decode(text, source) != document:
                    raise ConfigError(source, ["(top level): cannot be written as TOML"])
            else:
                text = body
            plan = self._plan(parse_config(document, source))
        except ConfigError as error:
            self._audit_all("config replace refused", {"problems": error.problems})
            raise config_rejected(error) from None
        previous = self._write_atomic(text)
        try:
            self._apply(plan)
        except Exception:
            self._restore(previous)
            raise
        return self._report("config replace", plan)

    def _plan(self, new: Config) -> Plan:
        """Validate `new` against the running daemon and work out what it changes."""
        running = self.runtime.config
        effective = self._effective(new, running)
        problems = []
        for account_id in effective.accounts:
            try:
                build_rules(effective.profile_for(account_id))
            except (ValueError, TypeError) as error:
                problems.append(f"accounts.{account_id}: rules cannot be built: {error}")
        if problems:
            raise ConfigError("request body", problems)
        changed = diff_keys(_as_json(self._file), _as_json(new))
        applied = [key for key in changed if self._is_live(key)]
        return Plan(new, effective, changed, applied, self._pending_restart(new))

    def _effective(self, new: Config, running: Config) -> Config:
        """What the running daemon can adopt from `new` now (restart-only parts kept)."""
        daemon = running.daemon.model_copy(
            update={name: getattr(new.daemon, name) for name in LIVE_DAEMON_FIELDS}
        )
        profiles = dict(new.profiles)
        accounts: dict[str, AccountConfig] = {}
        for account_id, old in running.accounts.items():
            wanted = new.accounts.get(account_id)
            if wanted is not None:
                accounts[account_id] = old.model_copy(update={"profile": wanted.profile})
                continue
            # Removed from the file: it is still connected until the restart, so keep
            # enforcing its old rules rather than silently dropping them.
            accounts[account_id] = old
            if old.profile is not None and old.profile not in profiles:
                profiles[old.profile] = running.profiles[old.profile]
        return running.model_copy(
            update={"daemon": daemon, "accounts": accounts, "profiles": profiles}
        )

    def _is_live(self, key: str) -> bool:
        parts = key.split(".")
        if parts[0] == "profiles":
            return True
        if parts[0] == "accounts" and len(parts) == 3 and parts[2] == "profile":
            return parts[1] in self.runtime.pipeline.accounts
        return key in LIVE_DAEMON_KEYS

    def _pending_restart(self, new: Config) -> list[str]:
        """Restart-only keys where `new` differs from what the daemon started with."""
        return [k for k in diff_keys(_as_json(self._boot), _as_json(new)) if not self._is_live(k)]

    def _apply(self, plan: Plan) -> None:
        runtime = self.runtime
        previous = runtime.config
        # Both swaps happen between two awaits, so no event sees half of them.
        try:
            runtime.engine.configure(plan.effective)
        except Exception:
            runtime.engine.configure(previous)  # the old rules back before reporting the error
            raise
        runtime.config = plan.effective
        self._file = plan.file_config

    def _report(self, what: str, plan: Plan) -> dict[str, Any]:
        details = {
            "changed": plan.changed,
            "applied": plan.applied,
            "restart_required": plan.restart_required,
        }
        self._audit_all(what, details)
        logger.info(
            "Admin {}: {} key(s) changed, {} applied, restart required for {}",
            what,
            len(plan.changed),
            len(plan.applied),
            plan.restart_required or "nothing",
        )
        return details

    def _write_atomic(self, text: str) -> str | None:
        """Replace the config file (temp file + rename); returns the previous text."""
        path = self.runtime.config_path
        try:
            previous = path.read_text(encoding="utf-8")
        except OSError:
            previous = None
        tmp: Path | None = None
        try:
            fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            tmp = Path(name)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if previous is not None:
                shutil.copymode(path, tmp)  # keep the file as private as it was
            os.replace(tmp, path)
        except OSError as error:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
            raise RequestError(
                500,
                "config_write_failed",
                f"cannot write the config file: {error.strerror}; nothing changed",
            ) from None
        return previous

    def _restore(self, previous: str | None) -> None:
        if previous is not None:
            with contextlib.suppress(RequestError):
                self._write_atomic(previous)

    # -- accounts -------------------------------------------------------------------------

    def unlock(self, account_id: str, lockout_id: int | None) -> dict[str, Any]:
        """End one lockout or all of the account's (if the config allows admin unlock)."""
        runtime = self.runtime
        now = runtime.clock.now()
        if not runtime.config.daemon.allow_admin_unlock:
            runtime.engine.audit(
                account_id, "unlock refused", {"reason": "allow_admin_unlock = false"}, now
            )
            raise RequestError(
                403, "admin_unlock_disabled", "the configuration sets allow_admin_unlock = false"
            )
        active = runtime.engine.lockouts.active(account_id)
        if lockout_id is not None and all(lockout.id != lockout_id for lockout in active):
            raise RequestError(
                404, "lockout_not_found", f"no active lockout {lockout_id} on {account_id}"
            )
        ended = runtime.engine.admin_unlock(account_id, lockout_id)
        now = runtime.clock.now()
        return {
            "account_id": account_id,
            "ended": [lockout_view(lockout, now) for lockout in ended],
            "still_active": [
                lockout_view(x, now) for x in runtime.engine.lockouts.active(account_id)
            ],
        }

    async def flatten(self, account_id: str) -> dict[str, Any]:
        """Flatten and cancel everything, wait for the broker, return what is left."""
        runtime = self.runtime
        account = runtime.pipeline.accounts[account_id]
        runtime.engine.admin_flatten(account)
        await runtime.settle()
        return {
            "account_id": account_id,
            "positions": [position_view(p) for p in account.positions.values()],
            "orders": [order_view(o) for o in account.orders.values()],
        }

    async def reset_day(self) -> dict[str, Any]:
        """Force the daily reset for every account now (day-bound lockouts end)."""
        runtime = self.runtime
        now = runtime.clock.now()
        accounts = list(runtime.pipeline.accounts.values())
        if not runtime.config.daemon.allow_admin_unlock:
            # A forced reset ends daily lockouts, so it is an unlock by another name.
            for account in accounts:
                runtime.engine.audit(account.account_id, "reset-day refused",
                                     {"reason": "allow_admin_unlock = false"}, now)  # fmt: skip
            raise RequestError(
                403, "admin_unlock_disabled", "the configuration sets allow_admin_unlock = false"
            )
        before = {
            a.account_id: {x.id for x in runtime.engine.lockouts.active(a.account_id)}
            for a in accounts
        }
        runtime.pipeline.reset_day(accounts, now)
        ended = {
            account_id: sorted(ids - {x.id for x in runtime.engine.lockouts.active(account_id)})
            for account_id, ids in before.items()
        }
        with runtime.store.transaction():
            for account in accounts:
                runtime.engine.audit(
                    account.account_id,
                    "reset-day",
                    {"lockouts_ended": ended[account.account_id]},
                    now,
                )
        await runtime.settle()
        return {
            "trading_day": str(runtime.pipeline.calendar.day_of(now)),
            "accounts": [account.account_id for account in accounts],
            "lockouts_ended": ended,
        }

    def stop(self) -> dict[str, Any]:
        """Audit a stop request; the caller sets runtime.stop_requested after replying."""
        self._audit_all("stop", {})
        logger.warning("Admin requested the daemon to stop")
        return {"stopping": True}

    def _audit_all(self, what: str, details: Mapping[str, object]) -> None:
        """One audit record per running account (the enforcement log is per account)."""
        runtime = self.runtime
        now = runtime.clock.now()
        with runtime.store.transaction():
            for account_id in runtime.pipeline.accounts:
                runtime.engine.audit(account_id, what, details, now, announce=False)
        runtime.bus.publish("admin", {"account_id": None, "action": what, "details": dict(details)})
