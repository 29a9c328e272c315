"""Settings of the ProjectX Gateway broker (`[broker] kind = "projectx"`, `[broker.projectx]`)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from risk_manager.config.broker import BrokerSettings
from risk_manager.domain.strict import StrictBool, StrictFloat, StrictInt


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r} must start with https:// (or http:// for a local gateway)")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class ProjectXOptions(BaseModel):
    """TopstepX by default; other ProjectX firms differ only in their base URLs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: HttpUrl = "https://api.topstepx.com"
    user_hub_url: HttpUrl = "https://rtc.topstepx.com/hubs/user"
    market_hub_url: HttpUrl = "https://rtc.topstepx.com/hubs/market"
    # The login name; the API key is a secret and never lives in the config (see credentials).
    username: str = ""
    api_key_file: str = Field("projectx_api_key", pattern=r"^[A-Za-z0-9_.-]+$")
    negotiate: StrictBool = True  # POST {hub}/negotiate first; false connects straight away
    request_timeout_seconds: StrictFloat = Field(10.0, gt=0, le=120)
    rate_limit: StrictInt = Field(200, ge=10, le=100_000)
    rate_window_seconds: StrictFloat = Field(60.0, gt=0, le=3600)
    enforcement_reserve: StrictInt = Field(40, ge=1, le=100_000)
    # No user-hub event for this long: check positions over REST; a difference means the feed
    # stalled, and it is reconnected (which reconciles).
    stall_seconds: StrictFloat = Field(30.0, ge=1, le=3600)
    server_timeout_seconds: StrictFloat = Field(30.0, ge=2, le=3600)
    reconnect_max_seconds: StrictFloat = Field(30.0, ge=1, le=3600)
    # Contracts whose quotes are wanted even when no position is held (ids or symbols).
    quote_contracts: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _reserve_below_limit(self) -> Self:
        if self.enforcement_reserve >= self.rate_limit:
            raise ValueError("enforcement_reserve must be below rate_limit")
        return self


class ProjectXSettings(BrokerSettings):
    """`[broker] kind = "projectx"` with its `[broker.projectx]` table."""

    kind: Literal["projectx"] = "projectx"
    projectx: ProjectXOptions = ProjectXOptions()
