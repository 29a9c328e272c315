"""Merge the violations of one event into ordered, de-duplicated broker steps (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from risk_manager.rules.base import ActionKind, Violation
from risk_manager.state.ledger import AccountState


@dataclass(frozen=True, slots=True)
class Step:
    """One executable broker step. REDUCE carries the absolute size to reduce *to*, so that
    re-running it after a crash is harmless (idempotent by construction)."""

    kind: ActionKind
    symbol: str | None = None
    target: int | None = None
    order_id: str | None = None
    price: Decimal | None = None
    side: int | None = None
    quantity: int | None = None

    @property
    def key(self) -> tuple[ActionKind, str | None]:
        """What two steps must not both be doing at once."""
        return (self.kind, self.symbol)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        data["kind"] = self.kind.name.lower()
        if self.price is not None:
            data["price"] = str(self.price)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        fields = dict(data)
        fields["kind"] = ActionKind[fields["kind"].upper()]
        if "price" in fields:
            fields["price"] = Decimal(fields["price"])
        return cls(**fields)


def plan_steps(
    violations: list[Violation], account: AccountState, busy: set[tuple[ActionKind, str | None]]
) -> list[Step]:
    """Most severe first; a flatten absorbs everything; never a step already queued."""
    actions = sorted((a for v in violations for a in v.actions), key=lambda a: a.kind)
    if (ActionKind.FLATTEN, None) in busy:
        return []
    if any(a.kind is ActionKind.FLATTEN for a in actions):
        return [Step(ActionKind.FLATTEN)]
    steps: list[Step] = []
    closing: set[str | None] = set()
    reduce_by: dict[str, int] = {}
    cancel: set[str | None] = set()
    stops: list[Step] = []
    for action in actions:
        if action.kind is ActionKind.CLOSE:
            closing.add(action.symbol)
        elif action.kind is ActionKind.REDUCE and action.symbol is not None:
            reduce_by[action.symbol] = max(reduce_by.get(action.symbol, 0), action.quantity or 0)
        elif action.kind is ActionKind.CANCEL:
            cancel.add(action.symbol)
        elif action.kind in (ActionKind.PLACE_STOP, ActionKind.MOVE_STOP):
            stops.append(
                Step(action.kind, action.symbol, None, action.order_id, action.price,
                     action.side, action.quantity)
            )  # fmt: skip
    steps += [Step(ActionKind.CLOSE, symbol) for symbol in sorted(closing, key=str)]
    for symbol, quantity in sorted(reduce_by.items()):
        if symbol in closing:
            continue
        position = account.positions.get(symbol)
        if position is not None and quantity > 0:
            steps.append(Step(ActionKind.REDUCE, symbol, max(0, abs(position.size) - quantity)))
    if None in cancel:
        steps.append(Step(ActionKind.CANCEL))
    else:
        # Closing a symbol already cancels its orders.
        steps += [Step(ActionKind.CANCEL, s) for s in sorted(cancel - closing, key=str)]
    # Two rules may ask for the same stop: plan it once.
    steps += [s for s in dict.fromkeys(stops) if s.symbol not in closing]
    return [step for step in steps if step.key not in busy]
