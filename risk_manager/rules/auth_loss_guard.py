"""Rule 10: the broker revoked trading (canTrade = false) or the connection dropped."""

from __future__ import annotations

from risk_manager.domain.events import AccountUpdate, ConnectionChange
from risk_manager.rules.base import (
    Action,
    ActionKind,
    LockoutEnd,
    LockoutRequest,
    Rule,
    RuleContext,
    Trigger,
    TriggerEvent,
    Violation,
)
from risk_manager.rules.params import AuthLossGuard


class AuthLossGuardRule(Rule):
    """Trigger: the broker reports `canTrade = false`; or the broker connection is lost.

    Action: canTrade lost → critical alert + lockout; connection lost → alert only (the
    pipeline reconnects and reconciles; never flatten blind).
    Release: when the broker reports `canTrade = true` again.
    """

    name = "auth_loss_guard"
    triggers = frozenset({Trigger.ACCOUNT, Trigger.CONNECTION})
    params: AuthLossGuard

    def evaluate(self, ctx: RuleContext, event: TriggerEvent) -> list[Violation]:
        """Lock out while the broker forbids trading; alert when the link drops."""
        account_id = ctx.account.account_id
        alert = (Action(ActionKind.ALERT),)
        if isinstance(event, AccountUpdate):
            if event.can_trade:
                return []
            reason = "broker reports canTrade = false: trading disabled on this account"
            trigger = {
                "can_trade": False,
                "balance": str(event.balance),
                "ts": event.ts.isoformat(),
            }
            lockout = LockoutRequest(LockoutEnd.CAN_TRADE, None, reason)
            return [
                Violation(self.name, account_id, reason, trigger, alert, lockout, critical=True)
            ]
        if isinstance(event, ConnectionChange) and not event.connected:
            reason = "broker connection lost" + (f": {event.reason}" if event.reason else "")
            reason += "; rules are blind until it reconnects and reconciles"
            trigger = {"connected": False, "reason": event.reason, "ts": event.ts.isoformat()}
            return [Violation(self.name, account_id, reason, trigger, alert)]
        return []
