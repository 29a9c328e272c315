"""The one trading gate: what an account, or one symbol root of it, may do right now.

Every lockout puts what it covers into a trading state (in the spirit of a risk engine's
ACTIVE / REDUCING / HALTED): REDUCING forbids new exposure, HALTED forbids any exposure at all.
Fills, orders, reconcile and the API all ask this gate; rules only raise lockouts and never
check whether one is already in force. Besides lockouts the gate knows *conditions* of the
daemon itself (the disk refusing writes): not rows, held in memory while they last, over every
account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from risk_manager.domain.contracts import symbol_root
from risk_manager.domain.events import Fill, Order, OrderStatus, OrderUpdate
from risk_manager.enforcement.lockouts import Lockout, LockoutBook
from risk_manager.rules.base import (
    TRADING_STATE_RANK,
    Action,
    ActionKind,
    LockoutEnd,
    TradingState,
    Violation,
)
from risk_manager.state.ledger import AccountState, FillEffect


class TradingGate:
    """Answers from the lockout book and the daemon's conditions."""

    def __init__(self, lockouts: LockoutBook) -> None:
        self.lockouts = lockouts
        self._conditions: dict[str, Lockout] = {}

    def set_condition(self, name: str, state: TradingState, reason: str, now: datetime) -> None:
        """Hold every account at `state` (at least) until `clear_condition(name)`.

        A condition is a lockout without a row (id 0): writing one is exactly what the disk
        may refuse, and it ends by itself when its cause does, never by an admin.
        """
        self._conditions[name] = Lockout(
            0, "*", name, None, reason, now, LockoutEnd.NEVER, None, state
        )

    def clear_condition(self, name: str) -> None:
        self._conditions.pop(name, None)

    def conditions(self) -> list[dict[str, str]]:
        """The conditions in force, for the API and /health."""
        return [
            {
                "name": x.rule,
                "state": x.state.value,
                "reason": x.reason,
                "since": x.started_at.isoformat(),
            }
            for x in self._conditions.values()
        ]

    def blocking(self, account_id: str, root: str | None, now: datetime) -> Lockout | None:
        """The most severe lockout or condition in force over `root` (None: account-scoped
        ones only)."""
        found = [
            lockout
            for lockout in self.lockouts.active(account_id)
            if lockout.in_force(now) and (lockout.symbol is None or lockout.symbol == root)
        ]
        found += self._conditions.values()
        return max(found, key=lambda x: TRADING_STATE_RANK[x.state], default=None)

    def state(self, account_id: str, root: str | None, now: datetime) -> TradingState:
        """ACTIVE, REDUCING or HALTED for the account (root None) or one symbol root."""
        lockout = self.blocking(account_id, root, now)
        return TradingState.ACTIVE if lockout is None else lockout.state

    def view(self, account: AccountState, now: datetime) -> dict[str, Any]:
        """The account's state and that of every root it holds, works or has locked."""
        account_id = account.account_id
        roots = {symbol_root(s) for s in account.positions}
        roots |= {symbol_root(o.symbol) for o in account.orders.values()}
        roots |= {x.symbol for x in self.lockouts.active(account_id) if x.symbol is not None}
        return {
            "trading_state": self.state(account_id, None, now).value,
            "symbol_states": {root: self.state(account_id, root, now).value
                              for root in sorted(roots)},
            "conditions": self.conditions(),
        }  # fmt: skip

    # -- what the engine asks --------------------------------------------------------------

    def on_fill(
        self, fill: Fill, effect: FillEffect | None, account: AccountState, now: datetime
    ) -> list[Violation]:
        """Undo the exposure a fill opened where a lockout forbids it, the fill's own included.

        A closing fill (the trader's, or one of our flattens) leaves less to enforce, so only
        the part of a fill that opened exposure is ever undone.
        """
        if effect is None or not effect.opened:
            return []
        lockout = self.blocking(account.account_id, symbol_root(fill.symbol), now)
        if lockout is None:
            return []
        held = 0 if effect.position is None else abs(effect.position.size)
        if lockout.state is TradingState.HALTED or effect.opened >= held:
            undo = Action(ActionKind.CLOSE, fill.symbol)  # the whole position is this fill's
        else:
            undo = Action(ActionKind.REDUCE, fill.symbol, effect.opened)  # keep what was held
        cancel_scope = None if lockout.symbol is None else fill.symbol
        return [
            Violation(
                "lockout", account.account_id,
                f"fill during lockout by {lockout.rule}: {lockout.reason}",
                {"lockout_id": lockout.id, "fill": fill.event_id, "symbol": fill.symbol,
                 "opened": effect.opened},
                (undo, Action(ActionKind.CANCEL, cancel_scope)),
            )
        ]  # fmt: skip

    def on_order(
        self, update: OrderUpdate, account: AccountState, now: datetime
    ) -> list[Violation]:
        """Cancel a working order that would add exposure where a lockout forbids it."""
        order = update.order
        if order.status is not OrderStatus.WORKING or _reduces_exposure(order, account):
            return []  # closing orders (ours or the trader's) and protective stops may stand
        lockout = self.blocking(account.account_id, symbol_root(order.symbol), now)
        if lockout is None:
            return []
        return [
            Violation(
                "lockout", account.account_id,
                f"order during lockout by {lockout.rule}: {lockout.reason}",
                {"lockout_id": lockout.id, "order_id": order.order_id, "symbol": order.symbol},
                (Action(ActionKind.CANCEL, order.symbol),),
            )
        ]  # fmt: skip

    def on_standing(self, account: AccountState, now: datetime) -> list[Violation]:
        """Exposure still held where a HALTED lockout forbids any (after reconcile)."""
        violations = []
        for lockout in [*self.lockouts.active(account.account_id), *self._conditions.values()]:
            if lockout.state is not TradingState.HALTED or not lockout.in_force(now):
                continue
            if lockout.symbol is None:
                if not (account.positions or account.orders):
                    continue
                actions: tuple[Action, ...] = (Action(ActionKind.FLATTEN),)
            else:
                held = sorted(s for s in account.positions if symbol_root(s) == lockout.symbol)
                if not held:
                    continue
                actions = tuple(Action(ActionKind.CLOSE, s) for s in held)
            violations.append(
                Violation("lockout", account.account_id,
                          f"exposure held during lockout by {lockout.rule}: {lockout.reason}",
                          {"lockout_id": lockout.id}, actions)
            )  # fmt: skip
        return violations

    def already_enforced(self, account_id: str, violation: Violation) -> bool:
        """A breach whose rule already holds a lockout as long: the gate covers it already."""
        request = violation.lockout
        return request is not None and self.lockouts.holds(account_id, violation.rule, request)


def _reduces_exposure(order: Order, account: AccountState) -> bool:
    position = account.positions.get(order.symbol)
    if position is None:
        return False
    return (position.size > 0) != (order.side > 0) and order.quantity <= abs(position.size)
