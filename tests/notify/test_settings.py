"""`[notifications]` validation: secrets by file name only, channel fields, routed accounts."""

from __future__ import annotations

import pytest

from risk_manager.config import ConfigError, parse_config


def config(channel: dict[str, object], **settings: object) -> dict[str, object]:
    return {
        "accounts": {"ACC-1": {}},
        "notifications": {"channels": {"ops": channel}, **settings},
    }


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ({"kind": "discord", "secret": "https://discord.com/api/webhooks/1/abc"},
         "is not a secret file name"),
        ({"kind": "discord", "secret": "../admin.json"}, "is not a secret file name"),
        ({"kind": "telegram", "secret": "bot"}, "a telegram channel needs chat_id"),
        ({"kind": "discord", "secret": "d", "chat_id": "1"}, "chat_id is for telegram"),
        ({"kind": "discord", "secret": "d", "signing_secret": "k"}, "signing_secret is for"),
        ({"kind": "webhook", "secret": "w", "accounts": ["NOPE"]},
         "notifications.channels.ops.accounts: unknown account 'NOPE'"),
        ({"kind": "sms", "secret": "s"}, "notifications.channels.ops.kind"),
        ({"kind": "webhook", "secret": "w", "rate_window_seconds": 0},
         "rate_window_seconds: Input should be greater than 0"),
        ({"kind": "webhook", "secret": "w", "rate_limit": 2, "rate_limit_per_minute": 3},
         "not both"),
    ],
)  # fmt: skip
def test_a_bad_channel_is_refused_with_the_reason(channel: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(config(channel))
    assert problem in str(refused.value)


def test_warning_levels_must_be_percentages_and_are_sorted() -> None:
    with pytest.raises(
        ConfigError, match=r"warn_at_percent\.1: Input should be less than or equal to 99"
    ):
        parse_config(config({"kind": "webhook", "secret": "w"}, warn_at_percent=[80, 100]))
    parsed = parse_config(config({"kind": "webhook", "secret": "w"}, warn_at_percent=[90, 50]))
    assert parsed.notifications.warn_at_percent == (50, 90)


def test_the_rate_limit_has_a_window_and_keeps_its_earlier_name() -> None:
    parsed = parse_config(config({"kind": "webhook", "secret": "w"})).notifications
    assert (parsed.channels["ops"].rate_limit, parsed.channels["ops"].rate_window_seconds) == (
        20,
        60,
    )
    fast = {"kind": "webhook", "secret": "w", "rate_limit": 2, "rate_window_seconds": 5}
    assert parse_config(config(fast)).notifications.channels["ops"].rate_window_seconds == 5
    earlier = {"kind": "webhook", "secret": "w", "rate_limit_per_minute": 7}
    assert parse_config(config(earlier)).notifications.channels["ops"].rate_limit == 7
