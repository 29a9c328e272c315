"""Rule 7: a cooldown after one losing trade, longer for bigger losses (tiers)."""

from __future__ import annotations

from datetime import timedelta

from risk_manager.domain.money import usd
from risk_manager.rules.base import (
    Action,
    ActionKind,
    FillTrigger,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import CooldownAfterLoss


class CooldownAfterLossRule(Rule):
    """Trigger: a closing fill loses (net of its fee) at least a tier's `loss`.

    Action: alert and a cooldown lockout of the worst matching tier's `minutes`; the gate undoes
    the exposure the losing fill itself opened (a losing reversal leaves nothing open).
    Release: timer (a longer lockout already running is never shortened).
    """

    name = "cooldown_after_loss"
    triggers = frozenset({Trigger.FILL})
    params: CooldownAfterLoss

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Start the cooldown of the worst tier this trade's loss reaches."""
        if not isinstance(event, FillTrigger) or event.effect is None or not event.effect.closed:
            return []
        loss = -(event.effect.realized - event.fill.fee)
        reached = [tier for tier in self.params.tiers if loss >= tier.loss]
        if not reached:
            return []
        worst = max(reached, key=lambda tier: tier.minutes)
        symbol = event.fill.symbol
        reason = (
            f"trade on {symbol} lost {usd(loss)} (tier {usd(worst.loss)}): "
            f"{worst.minutes} min cooldown"
        )
        until = ctx.now + timedelta(minutes=worst.minutes)
        trigger = {
            "symbol": symbol, "loss": str(loss), "tier_loss": str(worst.loss),
            "minutes": worst.minutes,
        }  # fmt: skip
        lockout = LockoutRequest(LockoutEnd.TIME, until, reason)
        actions = (Action(ActionKind.ALERT),)
        return [Violation(self.name, ctx.account.account_id, reason, trigger, actions, lockout)]
