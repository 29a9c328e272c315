"""`[notifications]`: channels, severity filters, per-account routing and delivery pacing.

Channel secrets (webhook URLs, bot tokens, signing keys) are never in the config: a channel
names a file in the home's `secrets/` folder, so config output cannot leak them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from risk_manager.domain.strict import MAX_SECONDS, StrictBool, StrictFloat, StrictInt

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
_SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _secret_name(name: str) -> str:
    if not _SECRET_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a secret file name: give the name of a file in secrets/ "
            "(letters, digits, '.', '_', '-'), never the URL or token itself"
        )
    return name


class ChannelConfig(_Frozen):
    """One destination. `secret` names the file holding the webhook URL (discord, webhook)
    or the bot token (telegram)."""

    kind: Literal["discord", "telegram", "webhook"]
    secret: str
    enabled: StrictBool = True
    min_severity: Severity = "warning"
    accounts: tuple[str, ...] = ()  # empty: every account and the daemon-wide messages
    chat_id: str | None = None  # telegram: the chat to post in
    telegram_api: str = "https://api.telegram.org"
    signing_secret: str | None = None  # webhook: file with the HMAC-SHA256 key
    # At most `rate_limit` sends per `rate_window_seconds`; what arrives faster is folded
    # into one summary when the next slot opens. `rate_limit_per_minute` is its earlier name.
    rate_limit: StrictInt = Field(20, ge=1, le=600)
    rate_window_seconds: StrictFloat = Field(60, gt=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _earlier_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rate_limit_per_minute" in data:
            if "rate_limit" in data:
                raise ValueError("give rate_limit or rate_limit_per_minute (old name), not both")
            data = dict(data)
            data["rate_limit"] = data.pop("rate_limit_per_minute")
        return data

    @field_validator("secret", "signing_secret")
    @classmethod
    def _names(cls, name: str | None) -> str | None:
        return None if name is None else _secret_name(name)

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind == "telegram" and not self.chat_id:
            raise ValueError("a telegram channel needs chat_id")
        if self.kind != "telegram" and self.chat_id is not None:
            raise ValueError("chat_id is for telegram channels only")
        if self.kind != "webhook" and self.signing_secret is not None:
            raise ValueError("signing_secret is for webhook channels only")
        return self


class NotificationsConfig(_Frozen):
    enabled: StrictBool = True
    # Warn once per level and trading day when a loss reaches this share of its limit.
    warn_at_percent: tuple[Annotated[StrictInt, Field(ge=1, le=99)], ...] = (80,)
    disconnect_alert_seconds: StrictFloat = Field(30, gt=0, le=MAX_SECONDS)
    timeout_seconds: StrictFloat = Field(10, gt=0, le=60)
    retry_base_seconds: StrictFloat = Field(1, gt=0, le=60)
    retry_max_seconds: StrictFloat = Field(300, gt=0, le=MAX_SECONDS)
    attempts: StrictInt = Field(5, ge=1, le=50)  # info / warning; critical retries for the window
    critical_retry_hours: StrictFloat = Field(24, gt=0, le=168)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)

    @field_validator("warn_at_percent")
    @classmethod
    def _percentages(cls, levels: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(set(levels)))

    @model_validator(mode="after")
    def _backoff_order(self) -> Self:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError("retry_max_seconds must be at least retry_base_seconds")
        return self

    def unknown_accounts(self, known: set[str]) -> list[str]:
        """Problems for channels routed to accounts the config does not define."""
        return [
            f"notifications.channels.{name}.accounts: unknown account {account!r}"
            for name, channel in self.channels.items()
            for account in channel.accounts
            if account not in known
        ]
