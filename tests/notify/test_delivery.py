"""Channel workers against a real loopback receiver: retries, 429, rate limit, durability."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from risk_manager.notify.channels import Channel
from risk_manager.notify.delivery import ChannelWorker, Item
from risk_manager.notify.notice import Notice
from risk_manager.notify.settings import ChannelConfig, NotificationsConfig
from risk_manager.state.notifications import NotificationOutbox
from risk_manager.state.store import Store
from tests.notify.receiver import Receiver, Reply

FAST = NotificationsConfig(retry_base_seconds=0.02, retry_max_seconds=0.1, attempts=4)


def now() -> datetime:
    return datetime.now(UTC)


def notice(title: str, severity: str = "warning") -> Notice:
    return Notice("test", severity, title, ("a line",), "ACC-1", now())  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def run(*args: Any, **kwargs: Any) -> ChannelWorker:
    return asyncio.run(deliver(*args, **kwargs))


async def deliver(
    receiver: Receiver, store: Store, items: list[Item], *, kind: str = "webhook",
    settings: NotificationsConfig = FAST, rate: int = 20, window: float = 60.0,
    until: int = 1, tmp: Path,
) -> ChannelWorker:  # fmt: skip
    """Run one worker on `items` until the receiver accepted `until` requests."""
    (tmp / "url").write_text(f"{receiver.url}/hook")
    config = ChannelConfig(kind=kind, secret="url", rate_limit=rate, rate_window_seconds=window)  # type: ignore[arg-type]
    async with httpx.AsyncClient(timeout=5) as client:
        worker = ChannelWorker(Channel("hook", config, tmp), client, NotificationOutbox(store),
                               settings, now)  # fmt: skip
        task = asyncio.create_task(worker.run())
        for item in items:
            worker.offer(item)
        while len(receiver.delivered()) < until:  # noqa: ASYNC110 (another thread's state)
            await asyncio.sleep(0.01)
        await asyncio.wait_for(worker.wait_idle(), 5)
        task.cancel()
    return worker


def test_server_errors_are_retried_until_accepted(receiver, store, tmp_path) -> None:
    receiver.script.extend([Reply(500), Reply(502)])
    worker = run(receiver, store, [Item(notice("one"))], tmp=tmp_path)
    assert [r.status for r in receiver.requests] == [500, 502, 200]
    assert {r.json["title"] for r in receiver.requests} == {"one"}
    assert (worker.sent, worker.failures, worker.last_error) == (1, 0, None)


def test_a_client_error_is_not_retried(receiver, store, tmp_path) -> None:
    receiver.script.append(Reply(404, {"message": "Unknown Webhook"}))
    worker = run(receiver, store, [Item(notice("lost")), Item(notice("next"))],
                           tmp=tmp_path)  # fmt: skip
    assert [r.status for r in receiver.requests] == [404, 200]
    assert worker.failures == 1


def test_429_waits_as_long_as_the_receiver_asks(receiver, store, tmp_path) -> None:
    receiver.script.append(Reply(429, {"retry_after": 0.4, "global": False}))  # Discord's body
    receiver.script.append(Reply(429, {"ok": False, "parameters": {"retry_after": 0.3}}))
    receiver.script.append(Reply(429, headers={"Retry-After": "1"}))
    run(receiver, store, [Item(notice("slow down"))], tmp=tmp_path)
    times = [r.at for r in receiver.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 4
    # Far longer than the 20-100 ms backoff: the waits came from the receiver's answers.
    assert gaps[0] >= 0.4
    assert gaps[1] >= 0.3
    assert gaps[2] >= 1.0


def test_a_burst_beyond_the_rate_limit_folds_into_one_summary(receiver, store, tmp_path) -> None:
    items = [Item(notice(f"burst {i}")) for i in range(3)]
    items.append(Item(notice("the critical one", "critical")))
    items += [Item(notice(f"burst {i}")) for i in range(3, 10)]
    worker = run(receiver, store, items, rate=3, window=0.5, until=4, tmp=tmp_path)
    bodies = [r.json for r in receiver.delivered()]
    assert [b["title"] for b in bodies[:3]] == ["burst 0", "burst 1", "burst 2"]
    summary = bodies[3]
    assert len(bodies) == 4
    assert summary["kind"] == "summary"
    assert summary["severity"] == "critical"
    assert summary["title"] == "8 messages held back by the rate limit"
    assert summary["lines"][0] == "[critical] the critical one"
    assert worker.summaries == 1


def test_a_critical_row_stays_in_the_outbox_until_delivered(receiver, store, tmp_path) -> None:
    outbox = NotificationOutbox(store)
    urgent = notice("urgent", "critical")
    row = outbox.add("hook", urgent.to_json(), urgent.at)
    receiver.script.extend([Reply(503)] * 6)  # more failures than `attempts` allows
    run(receiver, store, [Item(urgent, [row], urgent.at)], tmp=tmp_path)
    assert len(receiver.requests) == 7  # criticals retry past `attempts`
    assert outbox.pending("hook") == []


def test_receiver_error_text_is_redacted(receiver, store, tmp_path) -> None:
    receiver.script.append(Reply(400, {"error": f"bad URL {receiver.url}/hook"}))
    worker = run(receiver, store, [Item(notice("x")), Item(notice("y"))], tmp=tmp_path)
    assert worker.failures == 1
    assert f"{receiver.url}/hook" not in str(worker.status())
