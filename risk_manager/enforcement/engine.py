"""The risk engine: runs the rules an event subscribes to, gates fills against lockouts, and
turns violations into lockouts and enforcement batches committed with the event itself."""

from __future__ import annotations

import json
from bisect import insort
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from loguru import logger

from risk_manager.bus import EventBus
from risk_manager.clock import Clock
from risk_manager.config.models import Config
from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Event,
    Fill,
    OrderUpdate,
)
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.enforcement import journal, personal
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.gate import TradingGate
from risk_manager.enforcement.lockouts import Lockout, LockoutBook
from risk_manager.enforcement.planner import plan_steps
from risk_manager.rules.base import (
    RELEASED,
    Action,
    ActionKind,
    DayEndTrigger,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    QuoteTrigger,
    Rule,
    RuleContext,
    TickTrigger,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.registry import build_rules
from risk_manager.state.ledger import AccountState, FillEffect
from risk_manager.state.store import Store

UNKNOWN_CONTRACT = "unknown_contract"

_TRIGGER_OF: dict[type, Trigger] = {
    FillTrigger: Trigger.FILL, QuoteTrigger: Trigger.QUOTE, OrderUpdate: Trigger.ORDER,
    AccountUpdate: Trigger.ACCOUNT, ConnectionChange: Trigger.CONNECTION,
    TickTrigger: Trigger.TICK, DayEndTrigger: Trigger.DAY_END,
}  # fmt: skip


class RiskEngine:
    """Implements the pipeline's RiskHooks."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        calendar: TradingCalendar,
        spec_of: Callable[[str], ContractSpec],
        clock: Clock,
        bus: EventBus,
    ) -> None:
        self.store = store
        self.executor = executor
        self.calendar = calendar
        self.spec_of = spec_of
        self.clock = clock
        self.bus = bus
        self.lockouts = LockoutBook(store.lockouts, bus.publish)
        self.gate = TradingGate(self.lockouts)
        self.rule_state = store.rule_state
        self.entry_times: dict[str, list[datetime]] = {}
        self._rules: dict[str, dict[Trigger, list[Rule]]] = {}
        self._outbox: list[Batch] = []
        self._dirty: list[tuple[str, str, dict[str, object]]] = []
        self._gated_healthy: tuple[Event, AccountState, FillEffect | None] | None = None

    # -- configuration ----------------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Swap in the rules of every account at once (start-up and hot reload)."""
        rules: dict[str, dict[Trigger, list[Rule]]] = {}
        for account_id in config.accounts:
            by_trigger: dict[Trigger, list[Rule]] = {trigger: [] for trigger in Trigger}
            for rule in build_rules(config.profile_for(account_id)):
                for trigger in rule.triggers:
                    by_trigger[trigger].append(rule)
            rules[account_id] = by_trigger
        self._rules = rules
        self._release_unblocked(config)

    def _release_unblocked(self, config: Config) -> None:
        now = self.clock.now()
        with self.store.transaction():
            for account_id in config.accounts:
                blocks = config.profile_for(account_id).symbol_blocks
                blocked = set(blocks.symbols) if blocks and blocks.enabled else set()
                for lockout in self.lockouts.active(account_id):
                    if lockout.end is LockoutEnd.CONFIG_CHANGE and lockout.symbol not in blocked:
                        self.lockouts.end(lockout, "config change", now)

    def rules_of(self, account_id: str) -> list[Rule]:
        seen: dict[str, Rule] = {}
        for rules in self._rules.get(account_id, {}).values():
            for rule in rules:
                seen.setdefault(rule.name, rule)
        return list(seen.values())

    def load_entries(self, account: AccountState) -> None:
        """Rebuild today's entry-fill times from the store (after a restart)."""
        rows = self.store.fills_of_day(account.account_id, account.day.trading_day)
        self.entry_times[account.account_id] = [
            datetime.fromisoformat(row["ts"]) for row in rows if row["opened"]
        ]

    # -- pipeline hooks ---------------------------------------------------------------------

    def on_committed(self, event: Event, account: AccountState, effect: FillEffect | None) -> None:
        """Inside the event's transaction: evaluate, record lockouts, gate, record batches.

        Everything is stamped with the event's own time (a replay, a fill applied late by a
        reconcile), never later than the clock: a broker's clock running ahead is not trusted.
        """
        now = min(event.ts, self.clock.now())
        trigger: TriggerEvent
        if isinstance(event, Fill | OrderUpdate) and self.store.degraded is None:
            self._gated_healthy = (event, account, effect)
        if isinstance(event, Fill):
            if effect is not None and effect.opened:
                # Kept sorted: rules count entries in time windows by bisection.
                insort(self.entry_times.setdefault(account.account_id, []), event.ts)
            trigger = FillTrigger(event, effect)
        elif isinstance(event, AccountUpdate):
            if event.can_trade:
                self.lockouts.end_matching(
                    account.account_id, {LockoutEnd.CAN_TRADE}, "canTrade restored", now
                )
            trigger = event
        else:
            assert isinstance(event, OrderUpdate | ConnectionChange), "quotes never come here"
            trigger = event
        violations = self._evaluate(account, trigger, now)
        self._flush_state()
        self._enforce(account, violations, now, gated=event, effect=effect)

    def on_quote(self, symbol: str, accounts: Iterable[AccountState]) -> None:
        """Evaluate quote rules; open a transaction only when something must be recorded."""
        now = None
        for account in accounts:
            rules = self._rules.get(account.account_id, {}).get(Trigger.QUOTE)
            if not rules:
                continue
            now = now or self.clock.now()
            price = account.positions[symbol].last_price
            assert price is not None  # the pipeline marked the position before calling us
            violations = self._evaluate(account, QuoteTrigger(symbol, price), now, rules)
            if violations or self._dirty:
                with self.store.transaction():
                    self._flush_state()
                    self._enforce(account, violations, now)
        self.after_commit()

    def on_day_rolled(self, account: AccountState) -> None:
        """Inside the reset transaction: end reset-bound lockouts, tell day-end rules."""
        now = self.clock.now()
        self.lockouts.end_matching(account.account_id, {LockoutEnd.DAILY_RESET}, "daily reset", now)
        self.entry_times[account.account_id] = []
        day_end = DayEndTrigger(account.day.trading_day - timedelta(days=1), account.balance)
        violations = self._evaluate(account, day_end, now)
        self._flush_state()
        self._enforce(account, violations, now)

    def on_unknown_contract(self, account: AccountState, symbol: str, source: str) -> None:
        """Inside the event's transaction: halt an account trading a contract we cannot price.

        Its risk cannot be measured, so the account is flattened where the broker can and stays
        halted until an admin ends the lockout; every other account carries on.
        """
        now = self.clock.now()
        # One lockout per account however many such contracts; the record names each symbol.
        request = LockoutRequest(
            LockoutEnd.NEVER, None, "unknown contract", state=TradingState.HALTED
        )
        violation = Violation(
            UNKNOWN_CONTRACT, account.account_id,
            f"unknown contract {symbol}: no tick size or value to price it; account halted",
            {"symbol": symbol, "source": source}, (Action(ActionKind.FLATTEN),), request,
            critical=True,
        )  # fmt: skip
        self._enforce(account, [violation], now)

    def on_reconciled(self, account: AccountState) -> None:
        """Exposure the broker still holds where the gate forbids any: close it now.

        Covers positions adopted from the broker and flattens that failed before a restart.
        """
        now = self.clock.now()
        violations = self.gate.on_standing(account, now)
        if violations:
            with self.store.transaction():
                self._enforce(account, violations, now)
        self.after_commit()  # also what reconcile itself recorded (e.g. an unknown contract)

    def after_commit(self) -> None:
        """Hand committed batches to the executor."""
        self._gate_again_if_storage_failed()
        if self._outbox:
            batches, self._outbox = self._outbox, []
            for batch in batches:
                self.executor.submit(batch)

    def _gate_again_if_storage_failed(self) -> None:
        """A fill or order gated while the disk took writes whose own commit then failed: the
        storage condition is in force now, so gate it again (it may add exposure)."""
        last, self._gated_healthy = self._gated_healthy, None
        if last is not None and self.store.degraded is not None:
            event, account, effect = last
            with self.store.transaction():
                now = min(event.ts, self.clock.now())
                self._enforce(account, [], now, gated=event, effect=effect)

    def tick(self, accounts: Iterable[AccountState]) -> None:
        """Once a second: stamp expired lockouts, run timer rules."""
        now = self.clock.now()
        expired = self.lockouts.expired(now)
        with self.store.transaction():
            for lockout in expired:
                self.lockouts.end(lockout, "expired", now)
            for account in accounts:
                rules = self._rules.get(account.account_id, {}).get(Trigger.TICK)
                if rules:
                    violations = self._evaluate(account, TickTrigger(), now, rules)
                    self._flush_state()
                    self._enforce(account, violations, now)
        self.after_commit()

    # -- the trader's own lockout -------------------------------------------------------------

    def personal_lock(self, account: AccountState, request: LockoutRequest) -> tuple[Lockout, bool]:
        """Flatten and lock the account as the trader asked: the lockout now in force, and
        whether this request set it (False: a personal lockout running longer already stood).
        """
        now = self.clock.now()
        before = {x.id for x in self.lockouts.active(account.account_id)}
        violation = Violation(
            personal.RULE, account.account_id, f"trader asked: {request.reason}",
            {"until": None if request.until is None else request.until.isoformat()},
            (Action(ActionKind.FLATTEN),), request,
        )  # fmt: skip
        with self.store.transaction():
            self._enforce(account, [violation], now)
        self.after_commit()
        lockout = next(
            x for x in self.lockouts.active(account.account_id) if x.rule == personal.RULE
        )
        return lockout, lockout.id not in before

    # -- admin actions (authenticated in the API; audited here) -------------------------------

    def admin_flatten(self, account: AccountState) -> None:
        """Flatten and cancel everything on the account at an admin's request."""
        now = self.clock.now()
        request = Violation(
            "admin", account.account_id, "flatten requested by admin",
            {"requested_at": now.isoformat()}, (Action(ActionKind.FLATTEN),),
        )  # fmt: skip
        with self.store.transaction():
            self._enforce(account, [request], now)
        self.after_commit()

    def admin_unlock(self, account_id: str, lockout_id: int | None = None) -> list[Lockout]:
        """End one lockout (or all of the account's) and leave an audit record."""
        now = self.clock.now()
        targets = [x for x in self.lockouts.active(account_id) if lockout_id in (None, x.id)]
        stateful = {rule.name for rule in self.rules_of(account_id) if rule.stateful}
        with self.store.transaction():
            for lockout in targets:
                self.lockouts.end(lockout, "admin", now)
                if lockout.rule in stateful:  # it starts over at its next evaluation
                    state = self.rule_state.get(account_id, lockout.rule)
                    self.rule_state.put(account_id, lockout.rule, {**state, RELEASED: True})
            self.audit(account_id, "unlock", {"ended": [x.id for x in targets]}, now)
        return targets

    def audit(
        self, account_id: str, what: str, details: Mapping[str, object], now: datetime,
        *, announce: bool = True,
    ) -> None:  # fmt: skip
        """Record an admin action in the enforcement log (caller may hold a transaction);
        `announce` publishes it on the bus (off when the caller announces it once for all)."""
        record = Violation(
            "admin", account_id, f"admin {what}", dict(details), (Action(ActionKind.ALERT),)
        )
        with self.store.transaction():
            journal.open_batch(self.store, account_id, [record], [], now, status="done")
        if announce:
            self.bus.publish("admin", {"account_id": account_id, "action": what,
                                       "details": dict(details)})  # fmt: skip
        logger.bind(channel="enforcement", account=account_id).warning(
            "Admin {}: {}", what, details
        )

    # -- internals --------------------------------------------------------------------------

    def _evaluate(
        self,
        account: AccountState,
        event: TriggerEvent,
        now: datetime,
        rules: list[Rule] | None = None,
    ) -> list[Violation]:
        if rules is None:
            rules = self._rules.get(account.account_id, {}).get(_TRIGGER_OF[type(event)], [])
        if not rules:
            return []
        account_id = account.account_id
        ctx = RuleContext(
            account, now, self.calendar, self.spec_of, self.entry_times.get(account_id, []),
            list(account.orders.values()),
        )  # fmt: skip
        violations: list[Violation] = []
        for rule in rules:
            if not rule.stateful:
                violations += rule.evaluate(ctx, event)
                continue
            ctx.rule_state = self.rule_state.get(account_id, rule.name)
            ctx.state_changed = False
            violations += rule.evaluate(ctx, event)
            if ctx.state_changed:
                self._dirty.append((account_id, rule.name, ctx.rule_state))
        return violations

    def _flush_state(self) -> None:
        """Write rule state changed by the last evaluation (caller holds the transaction)."""
        for account_id, rule, state in self._dirty:
            self.rule_state.put(account_id, rule, state)
        self._dirty.clear()

    def _enforce(
        self,
        account: AccountState,
        violations: list[Violation],
        now: datetime,
        gated: Event | None = None,
        effect: FillEffect | None = None,
    ) -> None:
        """Record lockouts, gate the event, record a pending batch (caller holds the txn).

        The gate runs after this event's own lockouts are recorded, so a fill that starts a
        lockout is undone by it like any later one.
        """
        account_id = account.account_id
        # A breach whose lockout is already in force: the gate covers it, nothing to redo.
        violations = [v for v in violations if not self.gate.already_enforced(account_id, v)]
        new_lockouts = []
        for violation in violations:
            if violation.lockout is not None:
                lockout = self.lockouts.add(account_id, violation.rule, violation.lockout, now)
                if lockout is not None:
                    new_lockouts.append(lockout)
        if isinstance(gated, Fill):
            violations += self.gate.on_fill(gated, effect, account, now)
        elif isinstance(gated, OrderUpdate):
            violations += self.gate.on_order(gated, account, now)
        if not violations:
            return
        steps = plan_steps(violations, account, self.executor.busy(account_id))
        alerts = [v for v in violations if any(a.kind is ActionKind.ALERT for a in v.actions)]
        if not (steps or new_lockouts or alerts):
            return  # the same breach again while its enforcement is still in flight
        log = logger.bind(channel="enforcement", account=account_id)
        for violation in violations:
            level = "CRITICAL" if violation.critical else "WARNING"
            trigger = json.dumps(violation.trigger, default=str)  # JSON, not a Python repr
            log.log(level, "Violation {}: {} {}", violation.rule, violation.reason, trigger)
        status = "pending" if steps else "done"
        batch_id = journal.open_batch(self.store, account_id, violations, steps, now, status)
        if steps:
            self._outbox.append(Batch(batch_id, account_id, steps))
            self.executor.busy(account_id).update(step.key for step in steps)
        journal.announce(self.bus, account_id, batch_id, status, violations, new_lockouts, now)
