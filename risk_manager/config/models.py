"""The configuration schema: `[daemon]`, `[trading_day]`, `[broker]`, `[accounts]`, `[profiles]`,
`[notifications]`."""

from __future__ import annotations

from datetime import time
from functools import cache
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from risk_manager.config.broker import (
    BrokerSettings,
    broker_union,
    default_settings,
    registered_settings,
)
from risk_manager.domain.strict import MAX_SECONDS, StrictBool, StrictFloat, StrictInt, WallTime
from risk_manager.domain.tradingday import TradingCalendar
from risk_manager.netaddr import is_loopback_host
from risk_manager.notify.settings import NotificationsConfig
from risk_manager.rules.params import Profile, zone_name


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LogConfig(Frozen):
    level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    rotation: str = "10 MB"
    retention: str = "30 days"
    console: StrictBool = True


class DaemonConfig(Frozen):
    host: str = "127.0.0.1"
    port: StrictInt = Field(5555, ge=0, le=65535)
    allow_remote: StrictBool = False
    allow_admin_unlock: StrictBool = True
    snapshot_interval_seconds: StrictFloat = Field(30, gt=0, le=30)
    stale_quote_seconds: StrictFloat = Field(30, gt=0, le=MAX_SECONDS)
    watchdog_seconds: StrictFloat = Field(30, ge=2, le=600)
    max_body_bytes: StrictInt = Field(1_000_000, ge=1024, le=64_000_000)
    # A request's headers, then its body, must each arrive within this many seconds, and a
    # client must take what is sent to it (a stalled reader is dropped after as long).
    request_timeout_seconds: StrictFloat = Field(10, gt=0, le=300)
    # An open connection with no request in progress is closed after this many seconds.
    idle_timeout_seconds: StrictFloat = Field(5, gt=0, le=300)
    # Online copies of the state database: how often, and how many generations to keep.
    backup_interval_seconds: StrictFloat = Field(300, ge=10, le=86_400)
    backup_generations: StrictInt = Field(3, ge=1, le=100)
    # Append every event the broker pushes to this JSON Lines file (the replay broker's format).
    record_events: Path | None = None
    log: LogConfig = LogConfig()

    @field_validator("record_events")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_absolute():
            # The service's working directory is not the config's: relative would mislead.
            raise ValueError(f"must be an absolute path, got {str(path)!r}")
        return path

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> Self:
        if not self.allow_remote and not is_loopback_host(self.host):
            raise ValueError(
                f"host {self.host!r} is not a loopback address; set allow_remote = true to bind it"
            )
        return self


class TradingDayConfig(Frozen):
    reset_time: WallTime = time(17, 0)
    timezone: str = "America/Chicago"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return zone_name(name)

    def calendar(self) -> TradingCalendar:
        return TradingCalendar(self.reset_time, ZoneInfo(self.timezone))


class AccountConfig(Frozen):
    name: str = ""
    profile: str | None = None


class Config(Frozen):
    daemon: DaemonConfig = DaemonConfig()
    trading_day: TradingDayConfig = TradingDayConfig()
    broker: BrokerSettings = Field(default_factory=default_settings)
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    notifications: NotificationsConfig = NotificationsConfig()

    @model_validator(mode="after")
    def _routed_accounts_exist(self) -> Self:
        problems = self.notifications.unknown_accounts(set(self.accounts))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _profiles_exist(self) -> Self:
        for account_id, account in self.accounts.items():
            if account.profile is not None and account.profile not in self.profiles:
                known = ", ".join(sorted(self.profiles)) or "none defined"
                raise ValueError(
                    f"accounts.{account_id}.profile: no profile named {account.profile!r} "
                    f"(profiles: {known})"
                )
        return self

    def profile_for(self, account_id: str) -> Profile:
        """The rules of an account; an account without a profile has none."""
        name = self.accounts[account_id].profile
        return self.profiles[name] if name is not None else Profile()


def config_model() -> type[Config]:
    """`Config` with `broker` validated as the union of the registered broker kinds.

    Validate documents with this (the loader does), not with `Config` itself: the base class
    only knows the common `kind` field of broker settings.
    """
    return _config_model(registered_settings())


@cache
def _config_model(kinds: tuple[tuple[str, type[BrokerSettings]], ...]) -> type[Config]:
    # `kinds` is the cache key: a kind registered later gets a new model.
    broker = (broker_union(), Field(default_factory=default_settings))
    model: type[Config] = create_model("Config", __base__=Config, broker=broker)
    return model
