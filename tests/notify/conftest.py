"""Notification scenarios: a real daemon posting to loopback receivers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_process import MANUAL_CONFIG, write_config
from tests.notify.receiver import Receiver

TELEGRAM_TOKEN = "123456:AAH-secret-bot-token"
DISCORD_PATH = "/api/webhooks/42/discord-secret-token"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def notify_config(
    home: Path, profile: str, channels: dict[str, tuple[str, str]], extra: str = "",
    settings: str = "", daemon: str = "",
) -> None:  # fmt: skip
    """Write a manual-market config with `[notifications]`; channels: name → (kind, secret
    value), each secret written to secrets/<name>.url. `extra` is added to each channel,
    `settings` to `[notifications]`, `daemon` to `[daemon]`."""
    text = MANUAL_CONFIG.format(profile=profile).replace("[daemon]\n", f"[daemon]\n{daemon}\n")
    text += "\n[notifications]\nretry_base_seconds = 0.05\nretry_max_seconds = 0.5\n"
    text += settings + "\n"
    (home / "secrets").mkdir(parents=True, exist_ok=True)
    for name, (kind, secret) in channels.items():
        (home / "secrets" / f"{name}.url").write_text(secret)
        text += f'[notifications.channels.{name}]\nkind = "{kind}"\nsecret = "{name}.url"\n'
        text += 'min_severity = "info"\n' + extra
        if kind == "telegram":
            text += 'chat_id = "-100200300"\n'
    write_config(home, text=text)
