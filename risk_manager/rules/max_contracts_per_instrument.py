"""Rule 2: cap on contracts per symbol root (`limits`, `default_limit`, `block_unlisted`)."""

from __future__ import annotations

from risk_manager.domain.contracts import symbol_root
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import MaxContractsPerInstrument


class MaxContractsPerInstrumentRule(Rule):
    """Trigger: a fill leaves more contracts in one symbol root than its limit.

    Action: partial close of the excess (a full close when the root is blocked, limit 0).
    Release: none (no lockout).
    """

    name = "max_contracts_per_instrument"
    triggers = frozenset({Trigger.FILL})
    params: MaxContractsPerInstrument

    def limit_for(self, root: str) -> int | None:
        """The contract limit of a root; None when the root is unlimited."""
        if root in self.params.limits:
            return self.params.limits[root]
        if self.params.block_unlisted:
            return 0
        return self.params.default_limit

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Reduce the fill's root back to its limit."""
        if not isinstance(event, FillTrigger) or event.effect is None:
            return []
        root = symbol_root(event.fill.symbol)
        limit = self.limit_for(root)
        # Several contract months of one root (e.g. during a roll) count together.
        same_root = [p for p in ctx.account.positions.values() if symbol_root(p.symbol) == root]
        held = sum(abs(p.size) for p in same_root)
        if limit is None or held <= limit:
            return []
        if limit == 0:
            actions = [Action(ActionKind.CLOSE, p.symbol) for p in same_root]
            reason = f"{root} is not an allowed instrument ({held} contracts held)"
        else:
            same_root.sort(key=lambda p: (p.symbol != event.fill.symbol, -p.opened_at.timestamp()))
            actions, excess = [], held - limit
            for position in same_root:
                quantity = min(abs(position.size), excess)
                if quantity > 0:
                    actions.append(Action(ActionKind.REDUCE, position.symbol, quantity=quantity))
                excess -= quantity
            reason = f"{held} {root} contracts exceed the {root} limit of {limit}"
        trigger = {"root": root, "contracts": held, "limit": limit}
        return [Violation(self.name, ctx.account.account_id, reason, trigger, tuple(actions))]
