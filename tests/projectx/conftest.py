"""Fixtures for the ProjectX adapter: a fake Gateway on loopback and an adapter pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from risk_manager.brokers.projectx.adapter import ProjectXBroker
from risk_manager.brokers.projectx.config import ProjectXOptions
from risk_manager.brokers.projectx.rest import Credentials
from risk_manager.clock import WallClock
from risk_manager.domain.events import Event
from tests.projectx.fake_gateway.server import API_KEY, USERNAME, FakeGateway

T = TypeVar("T")
ACCOUNT_ID = 4_011
MNQ = "CON.F.US.MNQ.Z25"
ES = "CON.F.US.EP.Z25"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway(ping_interval=1.0) as fake:
        fake.add_account(ACCOUNT_ID, "PRAC-V2-4011")
        fake.add_account(4_012, "PRAC-V2-4012")  # another account of the login, not configured
        fake.set_price(MNQ, "21000")
        fake.set_price(ES, "6000")
        yield fake


def options_for(gateway: FakeGateway, **overrides: Any) -> ProjectXOptions:
    settings: dict[str, Any] = {
        "api_url": gateway.url,
        "user_hub_url": f"{gateway.url}/hubs/user",
        "market_hub_url": f"{gateway.url}/hubs/market",
        "username": USERNAME,
        "request_timeout_seconds": 2.0,
        "reconnect_max_seconds": 1.0,
        "server_timeout_seconds": 5.0,
        **overrides,
    }
    return ProjectXOptions(**settings)


class Session:
    """A connected adapter plus the events it pushed and the alerts it raised."""

    broker: ProjectXBroker

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.alerts: list[tuple[str, str]] = []

    async def wait_for(self, predicate: Callable[[Event], bool], within: float = 10.0) -> Event:
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                await asyncio.sleep(0.01)


def run_session(
    gateway: FakeGateway,
    tmp_path: Path,
    scenario: Callable[[Session], Coroutine[Any, Any, T]],
    **overrides: Any,
) -> T:
    """Connect an adapter (account configured by name), run `scenario`, close it."""

    async def main() -> T:
        session = Session()
        broker = session.broker = ProjectXBroker(
            options_for(gateway, **overrides), [("PX-1", "PRAC-V2-4011")], tmp_path / "state",
            tmp_path / "secrets", WallClock(), Credentials(USERNAME, SecretStr(API_KEY)),
            alert=lambda kind, message: session.alerts.append((kind, message)),
        )  # fmt: skip
        await broker.connect(session.events.append)
        try:
            return await scenario(session)
        finally:
            await broker.close()

    return asyncio.run(main())


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a (blocking) fake-gateway control from a scenario."""
    return await asyncio.to_thread(fn, *args, **kwargs)
