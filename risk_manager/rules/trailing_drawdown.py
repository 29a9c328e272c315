"""Rule 14: trailing drawdown floor (end-of-day or intraday high-water mark)."""

from __future__ import annotations

from decimal import Decimal

from risk_manager.domain.events import AccountUpdate
from risk_manager.domain.money import ZERO, cents
from risk_manager.rules.base import (
    Action,
    ActionKind,
    DayEndTrigger,
    LockoutEnd,
    LockoutRequest,
    LossGauge,
    QuoteTrigger,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import TrailingDrawdown


def drawdown_floor(high_water: Decimal, max_loss: Decimal, starting_balance: Decimal) -> Decimal:
    """High-water − max loss, but never above the starting balance once it gets there."""
    return min(high_water - max_loss, starting_balance)


class TrailingDrawdownRule(Rule):
    """Trigger: balance (+ unrealized in `intraday` mode) ≤ floor, where floor = high-water −
    `max_loss` capped at `starting_balance`; high-water = the highest end-of-day balance (or,
    intraday, the highest balance + unrealized seen), starting at `starting_balance`.

    Action: flatten the account and cancel all orders, then lock it out.
    Release: the daily reset, or never with `permanent = true`.
    """

    name = "trailing_drawdown"
    stateful = True
    params: TrailingDrawdown

    def __init__(self, params: TrailingDrawdown) -> None:
        super().__init__(params)
        # Quotes move the mark only in intraday mode; end-of-day mode ignores them entirely.
        kinds = {Trigger.ACCOUNT, Trigger.DAY_END}
        if params.mode == "intraday":
            kinds.add(Trigger.QUOTE)
        self.triggers = frozenset(kinds)

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Raise the high-water mark, then flatten and lock out at or below the floor."""
        intraday = self.params.mode == "intraday"
        if isinstance(event, DayEndTrigger):
            balance = event.balance
            equity = balance
        elif isinstance(event, AccountUpdate | QuoteTrigger):
            balance = ctx.account.balance
            equity = balance + cents(ctx.account.unrealized) if intraday else balance
        else:
            return []
        high_water = Decimal(ctx.rule_state.get("high_water", self.params.starting_balance))
        if (isinstance(event, DayEndTrigger) or intraday) and equity > high_water:
            high_water = equity
            ctx.rule_state["high_water"] = str(high_water)
            ctx.state_changed = True
        floor = drawdown_floor(high_water, self.params.max_loss, self.params.starting_balance)
        if not self._gauge(equity, floor).breached or self.name in ctx.active_lockouts:
            return []
        what = "equity" if intraday else "balance"
        reason = f"{what} {equity:.2f} reached the trailing drawdown floor {floor:.2f}"
        trigger = {
            "balance": str(balance), "equity": str(equity), "high_water": str(high_water),
            "floor": str(floor), "max_loss": str(self.params.max_loss),
        }  # fmt: skip
        if self.params.permanent:
            lockout = LockoutRequest(LockoutEnd.NEVER, None, reason)
        else:
            until = ctx.calendar.next_reset(ctx.now)
            lockout = LockoutRequest(LockoutEnd.DAILY_RESET, until, reason)
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        equity = ctx.account.balance
        if self.params.mode == "intraday":
            equity += cents(ctx.account.unrealized)
        high_water = Decimal(ctx.rule_state.get("high_water", self.params.starting_balance))
        floor = drawdown_floor(high_water, self.params.max_loss, self.params.starting_balance)
        return [self._gauge(equity, floor)]

    def _gauge(self, equity: Decimal, floor: Decimal) -> LossGauge:
        """The loss budget is `max_loss` above the floor; it is used up when equity ≤ floor."""
        used = floor + self.params.max_loss - equity
        return LossGauge("trailing drawdown", max(ZERO, used), self.params.max_loss)
