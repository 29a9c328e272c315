"""Rule 3: daily loss limit on realized PnL (optionally realized + unrealized)."""

from __future__ import annotations

from risk_manager.domain.money import ZERO, cents, usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    LossGauge,
    QuoteTrigger,
    Rule,
    RuleContext,
    TradingState,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import DailyRealizedLoss


class DailyRealizedLossRule(Rule):
    """Trigger: today's realized net PnL ≤ −limit (with `include_unrealized`, realized +
    unrealized ≤ −limit, checked on quotes too).

    Action: flatten the account and cancel all orders, then lock it out.
    Release: the daily reset.
    """

    name = "daily_realized_loss"
    params: DailyRealizedLoss

    def __init__(self, params: DailyRealizedLoss) -> None:
        super().__init__(params)
        # Quotes only matter when open PnL counts; subscribing otherwise would waste every quote.
        kinds = {Trigger.FILL, Trigger.QUOTE} if params.include_unrealized else {Trigger.FILL}
        self.triggers = frozenset(kinds)

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Flatten and lock out once the day's loss reaches the limit."""
        if not isinstance(event, FillTrigger | QuoteTrigger):
            return []
        if not self._gauge(ctx).breached:
            return []
        realized = ctx.account.day.realized_net
        unrealized = cents(ctx.account.unrealized) if self.params.include_unrealized else None
        total = realized + (unrealized or 0)
        limit = self.params.limit
        if unrealized is None:
            reason = f"daily realized loss {usd(realized)} reached the {usd(-limit)} limit"
        else:
            reason = (
                f"daily loss {usd(total)} (realized {usd(realized)}, unrealized {usd(unrealized)}) "
                f"reached the {usd(-limit)} limit"
            )
        trigger = {"realized": str(realized), "unrealized": str(unrealized), "limit": str(limit)}
        until = ctx.calendar.next_reset(ctx.now)
        lockout = LockoutRequest(LockoutEnd.DAILY_RESET, until, reason, state=TradingState.HALTED)
        actions = (Action(ActionKind.FLATTEN),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]

    def loss_gauges(self, ctx: RuleContext) -> list[LossGauge]:
        return [self._gauge(ctx)]

    def _gauge(self, ctx: RuleContext) -> LossGauge:
        total = ctx.account.day.realized_net
        if self.params.include_unrealized:
            total += cents(ctx.account.unrealized)
            return LossGauge("daily loss", max(ZERO, -total), self.params.limit)
        return LossGauge("daily realized loss", max(ZERO, -total), self.params.limit)
