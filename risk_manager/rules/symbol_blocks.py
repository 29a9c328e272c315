"""Rule 11: blocked symbol roots may hold neither positions nor working orders."""

from __future__ import annotations

from risk_manager.domain.contracts import symbol_root
from risk_manager.domain.events import OrderStatus, OrderUpdate
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    TickTrigger,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import SymbolBlocks


class SymbolBlocksRule(Rule):
    """Trigger: a fill or a working order in a blocked symbol root (exact root: ES does not
    block MES).

    Action: close the position and cancel the symbol's orders; a symbol-scoped lockout.
    Release: when the root is no longer blocked in the config.
    """

    name = "symbol_blocks"
    # TICK sweeps what was already held when a block arrived by config reload (or when an
    # earlier close failed), so a block never depends on the trader trading again.
    triggers = frozenset({Trigger.FILL, Trigger.ORDER, Trigger.TICK})
    params: SymbolBlocks

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Close and cancel anything in a blocked root."""
        if isinstance(event, FillTrigger) and event.effect is not None:
            return self._blocked(ctx, event.fill.symbol, "fill")
        if isinstance(event, OrderUpdate) and event.order.status is OrderStatus.WORKING:
            return self._blocked(ctx, event.order.symbol, f"order {event.order.order_id}")
        if isinstance(event, TickTrigger):
            held = set(ctx.account.positions) | {order.symbol for order in ctx.working_orders}
            return [v for symbol in sorted(held) for v in self._blocked(ctx, symbol, "holding")]
        return []

    def _blocked(self, ctx: RuleContext, symbol: str, what: str) -> list[Violation]:
        root = symbol_root(symbol)
        if root not in self.params.symbols:
            return []
        actions = [Action(ActionKind.CANCEL, symbol)]
        position = ctx.account.positions.get(symbol)
        if position is not None:
            actions.insert(0, Action(ActionKind.CLOSE, symbol))
        held = f" (position {position.size:+d})" if position is not None else ""
        reason = f"{what} in blocked symbol {symbol}{held}: {root} is blocked"
        trigger = {"symbol": symbol, "root": root, "source": what}
        lockout = LockoutRequest(
            LockoutEnd.CONFIG_CHANGE, None, f"{root} is blocked", root, TradingState.HALTED
        )
        account_id = ctx.account.account_id
        return [Violation(self.name, account_id, reason, trigger, tuple(actions), lockout)]
