"""Declarative, validated parameters of the 16 rules (`[profiles.<name>.<rule>]`)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from risk_manager.domain.contracts import known_root
from risk_manager.domain.strict import (
    Contracts,
    Dollars,
    Minutes,
    Seconds,
    StrictBool,
    Ticks,
    WallTime,
)


class RuleParams(BaseModel):
    """Base of every rule's parameters: a table present means enabled unless `enabled = false`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: StrictBool = True


def zone_name(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata folder, say
        hint = "use an IANA name like America/Chicago"
        raise ValueError(f"unknown time zone {name!r} ({hint})") from None
    return name


class MaxContracts(RuleParams):
    limit: Contracts
    close_all: StrictBool = False
    lockout_minutes: Minutes | None = Field(None, gt=0)


class MaxContractsPerInstrument(RuleParams):
    limits: dict[str, Contracts] = Field(default_factory=dict)
    default_limit: Contracts | None = None
    block_unlisted: StrictBool = False

    @field_validator("limits")
    @classmethod
    def _roots(cls, limits: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for symbol, limit in limits.items():
            out[known_root(symbol)] = limit
        return out


class DailyRealizedLoss(RuleParams):
    limit: Dollars = Field(gt=0, description="dollars, positive")
    include_unrealized: StrictBool = False


class DailyUnrealizedLoss(RuleParams):
    limit: Dollars = Field(gt=0)
    scope: Literal["position", "total"] = "position"
    lockout: StrictBool = False


class MaxUnrealizedProfit(RuleParams):
    target: Dollars = Field(gt=0)


CooldownWindow = Literal["per_minute", "per_hour"]
DEFAULT_COOLDOWN: dict[CooldownWindow, int] = {"per_minute": 60, "per_hour": 1800}


class TradeFrequencyLimit(RuleParams):
    per_minute: Contracts | None = Field(None, gt=0)
    per_hour: Contracts | None = Field(None, gt=0)
    per_day: Contracts | None = Field(None, gt=0)
    cooldown_seconds: dict[CooldownWindow, Seconds] = Field(
        default_factory=lambda: dict[CooldownWindow, int](DEFAULT_COOLDOWN.items())
    )

    @model_validator(mode="after")
    def _some_limit(self) -> Self:
        if self.per_minute is None and self.per_hour is None and self.per_day is None:
            raise ValueError("set at least one of per_minute, per_hour, per_day")
        if any(seconds <= 0 for seconds in self.cooldown_seconds.values()):
            raise ValueError("cooldown_seconds must be positive")
        return self


class LossTier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    loss: Dollars = Field(gt=0)
    minutes: Minutes = Field(gt=0)


class CooldownAfterLoss(RuleParams):
    tiers: tuple[LossTier, ...] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: tuple[LossTier, ...]) -> tuple[LossTier, ...]:
        ordered = tuple(sorted(tiers, key=lambda tier: tier.loss))
        for lower, higher in pairwise(ordered):
            if lower.loss == higher.loss:
                raise ValueError(f"two tiers share the loss threshold {lower.loss}")
            if higher.minutes <= lower.minutes:
                raise ValueError(
                    f"tiers overlap: a loss of {higher.loss} must cool down longer than "
                    f"{lower.loss} ({higher.minutes} ≤ {lower.minutes} minutes)"
                )
        return ordered


class NoStopLossGrace(RuleParams):
    grace_seconds: Seconds = Field(gt=0)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SessionWindow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: WallTime
    end: WallTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start == self.end:
            raise ValueError("a window's start and end must differ")
        return self


class SessionBlockOutside(RuleParams):
    timezone: str = "America/Chicago"
    windows: tuple[SessionWindow, ...] = Field(min_length=1)
    overrides: dict[str, tuple[SessionWindow, ...]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    flatten_at_end: StrictBool = True

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return zone_name(name)

    @field_validator("overrides")
    @classmethod
    def _override_roots(
        cls, overrides: dict[str, tuple[SessionWindow, ...]]
    ) -> dict[str, tuple[SessionWindow, ...]]:
        return {known_root(symbol): windows for symbol, windows in overrides.items()}


class AuthLossGuard(RuleParams):
    pass


class SymbolBlocks(RuleParams):
    symbols: tuple[str, ...] = Field(min_length=1)

    @field_validator("symbols")
    @classmethod
    def _roots(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        # Exact roots: blocking ES must not block MES, so no prefix matching anywhere. An
        # unknown root is refused: a typo would otherwise block nothing, silently.
        return tuple(known_root(symbol) for symbol in symbols)


class TradeManagement(RuleParams):
    breakeven_trigger_ticks: Ticks | None = Field(None, gt=0)
    breakeven_offset_ticks: Ticks = 0
    trail_activation_ticks: Ticks | None = Field(None, gt=0)
    trail_distance_ticks: Ticks | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.breakeven_trigger_ticks is None and self.trail_activation_ticks is None:
            raise ValueError("set breakeven_trigger_ticks or trail_activation_ticks")
        if (self.trail_activation_ticks is None) != (self.trail_distance_ticks is None):
            raise ValueError("trail_activation_ticks and trail_distance_ticks go together")
        if (
            self.breakeven_trigger_ticks is not None
            and self.breakeven_offset_ticks >= self.breakeven_trigger_ticks
        ):
            raise ValueError("breakeven_offset_ticks must be below breakeven_trigger_ticks")
        return self


class DailyRealizedProfit(RuleParams):
    target: Dollars = Field(gt=0)


class TrailingDrawdown(RuleParams):
    max_loss: Dollars = Field(gt=0)
    starting_balance: Dollars = Field(gt=0)
    mode: Literal["end_of_day", "intraday"] = "end_of_day"
    # Prop-firm default: a breach ends trading on the account until an admin acts.
    permanent: StrictBool = True


class TrailingDailyLoss(RuleParams):
    limit: Dollars = Field(gt=0, description="dollars below the day's peak")
    trail_from: Literal["unrealized", "realized"] = "unrealized"
    action: Literal["liquidate", "liquidate_and_block"] = "liquidate_and_block"


class WeeklyRealizedLoss(RuleParams):
    limit: Dollars = Field(gt=0, description="dollars, positive")
    # The week opens at the daily reset time on this day (Sunday 17:00 Chicago by default).
    week_starts: Weekday = "sun"


class Profile(BaseModel):
    """One named set of rules; accounts pick one with `profile = "<name>"`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_contracts: MaxContracts | None = None
    max_contracts_per_instrument: MaxContractsPerInstrument | None = None
    daily_realized_loss: DailyRealizedLoss | None = None
    daily_unrealized_loss: DailyUnrealizedLoss | None = None
    max_unrealized_profit: MaxUnrealizedProfit | None = None
    trade_frequency_limit: TradeFrequencyLimit | None = None
    cooldown_after_loss: CooldownAfterLoss | None = None
    no_stop_loss_grace: NoStopLossGrace | None = None
    session_block_outside: SessionBlockOutside | None = None
    auth_loss_guard: AuthLossGuard | None = None
    symbol_blocks: SymbolBlocks | None = None
    trade_management: TradeManagement | None = None
    daily_realized_profit: DailyRealizedProfit | None = None
    trailing_drawdown: TrailingDrawdown | None = None
    trailing_daily_loss: TrailingDailyLoss | None = None
    weekly_realized_loss: WeeklyRealizedLoss | None = None

    def enabled(self) -> dict[str, RuleParams]:
        """Rule name → parameters, for the rules switched on in this profile."""
        out: dict[str, RuleParams] = {}
        for name in type(self).model_fields:
            params = getattr(self, name)
            if params is not None and params.enabled:
                out[name] = params
        return out
