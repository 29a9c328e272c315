"""`risk-admin accounts test`: can this machine log in to the Gateway and see the accounts?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from risk_manager.brokers.base import AccountInfo
from risk_manager.brokers.projectx.accounts import AccountMap
from risk_manager.brokers.projectx.config import ProjectXOptions
from risk_manager.brokers.projectx.credentials import load_credentials
from risk_manager.brokers.projectx.mapping import account_from
from risk_manager.brokers.projectx.ratelimit import RateBudget
from risk_manager.brokers.projectx.rest import GatewayRest
from risk_manager.brokers.projectx.signalr import HubConnection

HUB_WAIT_SECONDS = 10.0


@dataclass
class GatewayCheck:
    accounts: list[AccountInfo] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # configured but not found at the Gateway
    ping_ms: float = 0.0
    login_ms: float = 0.0
    hub_ms: float | None = None  # None: the user hub did not connect in time


async def check_gateway(
    options: ProjectXOptions, secrets_dir: Path, configured: Sequence[tuple[str, str]]
) -> GatewayCheck:
    """Ping, log in, list accounts, open the user hub; BrokerError says what failed first."""
    rest = GatewayRest(options.api_url, load_credentials(options, secrets_dir), RateBudget(),
                       options.request_timeout_seconds)  # fmt: skip
    result = GatewayCheck()
    try:
        result.ping_ms = await rest.ping() * 1000
        started = time.perf_counter()
        token = await rest.token()
        result.login_ms = (time.perf_counter() - started) * 1000
        reply = await rest.call("/api/Account/search", {"onlyActiveAccounts": True}, action=False)
        found = reply.get("accounts") or []
        mapping = AccountMap(configured)
        result.missing = mapping.resolve(found)
        for record in found:
            gateway_id = int(record["id"])
            result.accounts.append(account_from(record, str(gateway_id)))
        result.hub_ms = await _hub_round_trip(options, token)
    finally:
        await rest.aclose()
    return result


async def _hub_round_trip(options: ProjectXOptions, token: str) -> float | None:
    async def give_token(refused: str | None) -> str:
        return token  # a refused token shows as a hub that never connects

    async def nothing(*_: object) -> None:
        return None

    hub = HubConnection("user", options.user_hub_url, give_token, on_open=nothing,
                        on_close=nothing, negotiate=options.negotiate)  # fmt: skip
    started = time.perf_counter()
    task = asyncio.create_task(hub.run())
    try:
        await asyncio.wait_for(hub.connected.wait(), HUB_WAIT_SECONDS)
        return (time.perf_counter() - started) * 1000
    except TimeoutError:
        return None
    finally:
        await hub.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
