"""Admin actions on the running daemon: unlock, flatten, forced daily reset, stop, and what a
config reload needs from it. Every action leaves an audit record; a refusal is a domain error
(`risk_manager.errors`) that the API turns into an HTTP status.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from loguru import logger

from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.config.models import Config
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.lockouts import Lockout
from risk_manager.errors import NotAllowed, NotFound
from risk_manager.pipeline import Pipeline
from risk_manager.rules.registry import build_rules
from risk_manager.state.ledger import AccountState
from risk_manager.state.store import Store


class Daemon(Protocol):
    """What the actions use of the running daemon. `risk_manager.runtime.Runtime` is one; it
    is assembled from this package, so naming it here would point the import graph upwards."""

    config: Config
    clock: Clock
    store: Store
    pipeline: Pipeline
    engine: RiskEngine
    bus: EventBus

    def critical(self, kind: str, message: str) -> None: ...

    async def settle(self) -> None: ...


def _unlock_disabled() -> NotAllowed:
    return NotAllowed("admin_unlock_disabled", "the configuration sets allow_admin_unlock = false")


@dataclass(frozen=True, slots=True)
class Unlocked:
    account_id: str
    ended: list[Lockout]
    still_active: list[Lockout]


class AdminActions:
    """The service object behind the admin routes (and the `RunningDaemon` of a reload)."""

    def __init__(self, runtime: Daemon) -> None:
        self.runtime = runtime

    # -- RunningDaemon, for config reloads ----------------------------------------------------

    @property
    def config(self) -> Config:
        return self.runtime.config

    def rule_problems(self, config: Config) -> list[str]:
        problems = []
        for account_id in config.accounts:
            try:
                build_rules(config.profile_for(account_id))
            except (ValueError, TypeError) as error:
                problems.append(f"accounts.{account_id}: rules cannot be built: {error}")
        return problems

    def adopt(self, config: Config) -> None:
        runtime = self.runtime
        previous = runtime.config
        # Both swaps happen between two awaits, so no event sees half of them.
        try:
            runtime.engine.configure(config)
        except Exception:
            runtime.engine.configure(previous)  # the old rules back before reporting the error
            raise
        runtime.config = config

    def live_accounts(self) -> Collection[str]:
        return self.runtime.pipeline.accounts.keys()

    def critical(self, kind: str, message: str) -> None:
        self.runtime.critical(kind, message)

    def audit_all(self, what: str, details: Mapping[str, object]) -> None:
        """One audit record per running account (the enforcement log is per account)."""
        runtime = self.runtime
        now = runtime.clock.now()
        with runtime.store.transaction():
            for account_id in runtime.pipeline.accounts:
                runtime.engine.audit(account_id, what, details, now, announce=False)
        runtime.bus.publish("admin", {"account_id": None, "action": what, "details": dict(details)})

    # -- actions ------------------------------------------------------------------------------

    def unlock(self, account_id: str, lockout_id: int | None) -> Unlocked:
        """End one lockout or all of the account's (if the config allows admin unlock)."""
        runtime = self.runtime
        if not runtime.config.daemon.allow_admin_unlock:
            refusal = {"reason": "allow_admin_unlock = false"}
            runtime.engine.audit(account_id, "unlock refused", refusal, runtime.clock.now())
            raise _unlock_disabled()
        active = runtime.engine.lockouts.active(account_id)
        if lockout_id is not None and all(lockout.id != lockout_id for lockout in active):
            raise NotFound("lockout_not_found", f"no active lockout {lockout_id} on {account_id}")
        ended = runtime.engine.admin_unlock(account_id, lockout_id)
        return Unlocked(account_id, ended, runtime.engine.lockouts.active(account_id))

    async def flatten(self, account_id: str) -> AccountState:
        """Flatten and cancel everything, wait for the broker; the account as it is then."""
        runtime = self.runtime
        account = runtime.pipeline.accounts[account_id]
        runtime.engine.admin_flatten(account)
        await runtime.settle()
        return account

    async def reset_day(self) -> dict[str, object]:
        """Force the daily reset for every account now (day-bound lockouts end)."""
        runtime = self.runtime
        now = runtime.clock.now()
        accounts = list(runtime.pipeline.accounts.values())
        if not runtime.config.daemon.allow_admin_unlock:
            # A forced reset ends daily lockouts, so it is an unlock by another name.
            for account in accounts:
                runtime.engine.audit(account.account_id, "reset-day refused",
                                     {"reason": "allow_admin_unlock = false"}, now)  # fmt: skip
            raise _unlock_disabled()
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
                done = {"lockouts_ended": ended[account.account_id]}
                runtime.engine.audit(account.account_id, "reset-day", done, now)
        await runtime.settle()
        return {
            "trading_day": str(runtime.pipeline.calendar.day_of(now)),
            "accounts": [account.account_id for account in accounts],
            "lockouts_ended": ended,
        }

    def stop(self) -> dict[str, object]:
        """Audit a stop request; the caller sets runtime.stop_requested after replying."""
        self.audit_all("stop", {})
        logger.warning("Admin requested the daemon to stop")
        return {"stopping": True}
