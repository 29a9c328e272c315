"""The rate budget, token handling and SignalR framing, without a daemon."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from risk_manager.brokers.base import BrokerAuthFailed
from risk_manager.brokers.projectx.ratelimit import RateBudget
from risk_manager.brokers.projectx.rest import Credentials, GatewayRest, token_expiry
from risk_manager.brokers.projectx.signalr import backoff_seconds, frame, records, split_records
from tests.projectx.fake_gateway.server import API_KEY, USERNAME, FakeGateway


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_routine_traffic_leaves_the_reserve_to_enforcement() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=10, window_seconds=60, reserve=3, clock=clock)
    for _ in range(7):
        assert budget.wait_seconds(urgent=False) == 0
        budget.record()
    clock.now = 5.0
    assert budget.wait_seconds(urgent=False) == pytest.approx(55.0)  # the oldest leaves at 60 s
    assert budget.wait_seconds(urgent=True) == 0  # enforcement never waits on the budget
    budget.slow_down(10)
    clock.now = 61.0
    assert budget.used() == 0
    assert budget.wait_seconds(urgent=False) == 0


@given(st.lists(st.tuples(st.floats(0, 5), st.booleans()), max_size=200))
def test_routine_requests_never_exceed_limit_minus_reserve(steps: list[tuple[float, bool]]) -> None:
    clock = FakeClock()
    budget = RateBudget(limit=20, window_seconds=10, reserve=5, clock=clock)
    for advance, urgent in steps:
        clock.now += advance
        clock.now += budget.wait_seconds(urgent)  # what acquire() would sleep
        budget.record()
        if not urgent:  # enforcement may fill the window; routine traffic never goes past 15
            assert budget.used() <= 15


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_seconds(n, rng, 0.5, 30) for n in range(12)]
    assert all(0.25 <= d <= 30 for d in delays)
    assert delays[0] <= 0.5 < delays[4]
    assert max(delays[8:]) <= 30
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jittered, not in lock-step


def test_one_frame_carries_several_records() -> None:
    text = frame({"type": 6}, {"type": 1, "target": "X", "arguments": [1]})
    assert text.count("\x1e") == 2
    assert records(text) == [{"type": 6}, {"type": 1, "target": "X", "arguments": [1]}]
    assert records(text.encode()) == records(text)


def _jwt(claims: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{body}.sig"


def test_token_expiry_reads_the_exp_claim() -> None:
    assert token_expiry(_jwt({"exp": 1_900_000_000})) == 1_900_000_000
    assert token_expiry("not-a-jwt") is None
    assert token_expiry(_jwt({"exp": "soon"})) is None


def test_token_is_renewed_before_exp_and_relogged_after_a_401(tmp_path: Path) -> None:
    with FakeGateway() as gateway:
        gateway.add_account(1, "A")

        async def scenario() -> None:
            wall = FakeClock()
            wall.now = time.time()
            rest = GatewayRest(gateway.url, Credentials(USERNAME, SecretStr(API_KEY)),
                               RateBudget(), wall=wall)  # fmt: skip
            first = await rest.token()
            wall.now += 23.5 * 3600  # within the renewal margin of the 24 h token
            renewed = await rest.token()
            assert renewed != first
            wall.now = time.time()  # back to the server's clock: the new token is fresh
            await asyncio.to_thread(gateway.expire_tokens)
            reply = await rest.call("/api/Account/search", {"onlyActiveAccounts": True},
                                    action=False)  # fmt: skip
            assert reply["accounts"][0]["id"] == 1
            await rest.aclose()

        asyncio.run(scenario())
        assert len(gateway.requests("Auth/validate")) == 1
        assert len(gateway.requests("Auth/loginKey")) == 2


def test_refused_login_names_the_gateway_reason() -> None:
    with FakeGateway() as gateway:
        gateway.set(login_error=9)

        async def scenario() -> None:
            rest = GatewayRest(gateway.url, Credentials(USERNAME, SecretStr(API_KEY)), RateBudget())
            try:
                with pytest.raises(BrokerAuthFailed, match="no API subscription"):
                    await rest.token()
            finally:
                await rest.aclose()

        asyncio.run(scenario())


def test_credentials_never_show_the_key() -> None:
    assert API_KEY not in repr(Credentials(USERNAME, SecretStr(API_KEY)))


def test_a_record_split_across_frames_is_kept_until_it_ends() -> None:
    first, rest = split_records('{"type":6}\x1e{"type":1,"tar')
    assert first == [{"type": 6}]
    second, rest = split_records(rest + 'get":"X","arguments":[]}\x1e')
    assert second == [{"type": 1, "target": "X", "arguments": []}]
    assert rest == ""


def test_short_lived_tokens_are_renewed_at_a_tenth_of_their_life() -> None:
    with FakeGateway() as gateway:
        gateway.set(token_ttl=100.0)

        async def scenario() -> None:
            wall = FakeClock()
            wall.now = time.time()
            rest = GatewayRest(gateway.url, Credentials(USERNAME, SecretStr(API_KEY)),
                               RateBudget(), wall=wall)  # fmt: skip
            first = await rest.token()
            wall.now += 50  # half its life left: no renewal yet
            assert await rest.token() == first
            wall.now += 45  # 5 s of 100 left
            assert await rest.token() != first
            await rest.aclose()

        asyncio.run(scenario())
        assert len(gateway.requests("Auth/validate")) == 1
