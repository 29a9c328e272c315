"""All rules by their TOML table name, in SPEC §4 order, and the per-profile factory."""

from __future__ import annotations

from risk_manager.rules.auth_loss_guard import AuthLossGuardRule
from risk_manager.rules.base import Rule
from risk_manager.rules.cooldown_after_loss import CooldownAfterLossRule
from risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from risk_manager.rules.daily_realized_profit import DailyRealizedProfitRule
from risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from risk_manager.rules.max_contracts import MaxContractsRule
from risk_manager.rules.max_contracts_per_instrument import MaxContractsPerInstrumentRule
from risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from risk_manager.rules.params import Profile
from risk_manager.rules.session_block_outside import SessionBlockOutsideRule
from risk_manager.rules.symbol_blocks import SymbolBlocksRule
from risk_manager.rules.trade_frequency_limit import TradeFrequencyLimitRule
from risk_manager.rules.trade_management import TradeManagementRule
from risk_manager.rules.trailing_daily_loss import TrailingDailyLossRule
from risk_manager.rules.trailing_drawdown import TrailingDrawdownRule
from risk_manager.rules.weekly_realized_loss import WeeklyRealizedLossRule

RULES: dict[str, type[Rule]] = {
    rule.name: rule
    for rule in (
        MaxContractsRule,
        MaxContractsPerInstrumentRule,
        DailyRealizedLossRule,
        DailyUnrealizedLossRule,
        MaxUnrealizedProfitRule,
        TradeFrequencyLimitRule,
        CooldownAfterLossRule,
        NoStopLossGraceRule,
        SessionBlockOutsideRule,
        AuthLossGuardRule,
        SymbolBlocksRule,
        TradeManagementRule,
        DailyRealizedProfitRule,
        TrailingDrawdownRule,
        TrailingDailyLossRule,
        WeeklyRealizedLossRule,
    )
}


def build_rules(profile: Profile) -> list[Rule]:
    """Instances of the rules the profile enables, in SPEC order."""
    return [RULES[name](params) for name, params in profile.enabled().items()]
