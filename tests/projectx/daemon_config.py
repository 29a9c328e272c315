"""A daemon home configured for `broker.kind = "projectx"` against a fake Gateway."""

from __future__ import annotations

from pathlib import Path

from tests.projectx.fake_gateway.server import API_KEY, USERNAME, FakeGateway

CONFIG = """
[daemon]
port = 0
[daemon.log]
console = true
level = "{level}"

[broker]
kind = "projectx"
[broker.projectx]
api_url = "{url}"
user_hub_url = "{url}/hubs/user"
market_hub_url = "{url}/hubs/market"
username = "{username}"
negotiate = {negotiate}
request_timeout_seconds = 2
stall_seconds = 3
server_timeout_seconds = 5
reconnect_max_seconds = 1
{extra}

[accounts.PX-1]
name = "PRAC-V2-4011"
profile = "test"

[profiles.test]
{profile}
"""


def write_home(
    home: Path,
    gateway: FakeGateway,
    profile: str,
    negotiate: bool = True,
    level: str = "DEBUG",
    extra: str = "",
) -> Path:
    """Config plus the API key in secrets/ (the username is not a secret)."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "secrets").mkdir(parents=True, exist_ok=True)
    (home / "secrets" / "projectx_api_key").write_text(API_KEY + "\n")
    text = CONFIG.format(url=gateway.url, username=USERNAME, profile=profile,
                         negotiate=str(negotiate).lower(), level=level, extra=extra)  # fmt: skip
    (home / "config" / "risk_manager.toml").write_text(text)
    return home
