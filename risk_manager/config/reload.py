"""Config show / reload / replace for the admin API. Every operation leaves an audit record.

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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from risk_manager.config.loader import ConfigError, decode, text_of
from risk_manager.config.models import AccountConfig, Config
from risk_manager.config.toml_writer import to_toml
from risk_manager.config.validate import emptiness, load_config, validate, validate_text
from risk_manager.errors import InvalidRequest, OperationFailed, StorageUnavailable
from risk_manager.state.durable import is_storage_error

# [daemon] settings read on every use, so they take effect without a restart.
# allow_admin_unlock is deliberately not one of them: switching it on and unlocking in the
# next breath would make `allow_admin_unlock = false` meaningless.
LIVE_DAEMON_FIELDS = ("stale_quote_seconds",)
LIVE_DAEMON_KEYS = frozenset(f"daemon.{name}" for name in LIVE_DAEMON_FIELDS)


def config_rejected(error: ConfigError) -> InvalidRequest:
    """The refusal listing every problem as "key: reason"."""
    message = "configuration refused, nothing changed: " + "; ".join(error.problems)
    return InvalidRequest("invalid_config", message, error.problems)


def _unreadable(error: OSError) -> OperationFailed:
    return OperationFailed("config_unreadable", f"cannot read the config file: {error.strerror}")


class RunningDaemon(Protocol):
    """What reloading needs from the running daemon (the admin actions provide it)."""

    @property
    def config(self) -> Config:
        """The effective config the daemon runs with."""

    def rule_problems(self, config: Config) -> list[str]:
        """Why the rules of `config` cannot be built, per account ([] when they can)."""

    def adopt(self, config: Config) -> None:
        """Run with `config` from now on; on an exception the previous one stays."""

    def live_accounts(self) -> Collection[str]:
        """Accounts the daemon is connected to now."""

    def audit_all(self, what: str, details: Mapping[str, object]) -> None:
        """One audit record per running account."""

    def critical(self, kind: str, message: str) -> None:
        """A critical log line and alert (the notifier sends it)."""


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


class ConfigReloader:
    """The config service the admin router calls; holds the file's last applied config."""

    def __init__(self, path: Path, daemon: RunningDaemon) -> None:
        self.path = path
        self.daemon = daemon
        # The config as the file had it at start (before command-line overrides such as
        # --port): restart-only keys are compared with this to say what still needs a restart.
        try:
            # It started with this config, so an empty one was confirmed then.
            self._boot = load_config(path, allow_empty=True)
        except ConfigError:
            self._boot = daemon.config
        self._file = self._boot

    # -- config ---------------------------------------------------------------------------

    def show_config(self) -> dict[str, Any]:
        """The config file's text and the effective (running) config."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as error:
            raise _unreadable(error) from None
        # A read changes nothing the trader needs to see: the system log records it, the
        # per-account enforcement log (the trader's record of what was done) stays clean.
        logger.info("Admin read the configuration")
        return {
            "text": text,
            "effective": _as_json(self.daemon.config),
            "restart_required": self._pending_restart(self._file),
        }

    def reload(self, *, allow_empty: bool = False) -> dict[str, Any]:
        """Re-read the config file and apply it; on any problem keep the running config."""
        path = self.path
        try:
            text = text_of(path.read_bytes(), path.name)
            plan = self._plan(validate_text(text, path.name, allow_empty=allow_empty))
        except OSError as error:
            self.daemon.audit_all("config reload refused", {"problems": [error.strerror]})
            raise _unreadable(error) from None
        except ConfigError as error:
            self.daemon.audit_all("config reload refused", {"problems": error.problems})
            raise config_rejected(error) from None
        self._apply(plan)
        return self._report("config reload", plan)

    def replace(self, body: str, *, as_json: bool, allow_empty: bool = False) -> dict[str, Any]:
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
            plan = self._plan(validate(document, source, allow_empty=allow_empty))
        except ConfigError as error:
            self.daemon.audit_all("config replace refused", {"problems": error.problems})
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
        effective = self._effective(new, self.daemon.config)
        problems = self.daemon.rule_problems(effective)
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
            return parts[1] in self.daemon.live_accounts()
        return key in LIVE_DAEMON_KEYS

    def _pending_restart(self, new: Config) -> list[str]:
        """Restart-only keys where `new` differs from what the daemon started with."""
        return [k for k in diff_keys(_as_json(self._boot), _as_json(new)) if not self._is_live(k)]

    def _apply(self, plan: Plan) -> None:
        self.daemon.adopt(plan.effective)
        self._file = plan.file_config
        if reason := emptiness(plan.file_config):
            self.daemon.critical(
                "config_empty", f"A config that enforces nothing was applied: {reason}"
            )

    def _report(self, what: str, plan: Plan) -> dict[str, Any]:
        details = {
            "changed": plan.changed,
            "applied": plan.applied,
            "restart_required": plan.restart_required,
        }
        self.daemon.audit_all(what, details)
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
        path = self.path
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
            # A full or read-only disk gets 507: the request was fine, retry when space is back.
            refusal = StorageUnavailable if is_storage_error(error) else OperationFailed
            raise refusal(
                "config_write_failed",
                f"cannot write the config file: {error.strerror}; nothing changed",
            ) from None
        return previous

    def _restore(self, previous: str | None) -> None:
        if previous is not None:
            with contextlib.suppress(OperationFailed):
                self._write_atomic(previous)
