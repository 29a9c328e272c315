"""Routing by severity and account; critical messages when the outbox cannot be written, and
the outbox rows of channels removed from the config."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from risk_manager.notify.notice import Notice
from risk_manager.notify.notifier import Notifier
from risk_manager.notify.settings import ChannelConfig, NotificationsConfig
from risk_manager.state.notifications import NotificationOutbox
from risk_manager.state.store import Store
from tests.notify.receiver import Receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "db.sqlite3")
    yield opened
    opened._db.execute("PRAGMA query_only = 0")
    opened.close()


def notice(severity: str, account_id: str | None) -> Notice:
    return Notice("test", severity, f"{severity} {account_id}", (), account_id,  # type: ignore[arg-type]
                  datetime.now(UTC))  # fmt: skip


def run(receiver: Receiver, store: Store, tmp: Path, notices: list[Notice], expect: int) -> None:
    channels = {
        "trader": ChannelConfig(kind="webhook", secret="trader", min_severity="info",
                                accounts=("ACC-1",)),
        "admin": ChannelConfig(kind="webhook", secret="admin", min_severity="critical"),
    }  # fmt: skip
    for name in channels:
        (tmp / name).write_text(f"{receiver.url}/{name}")

    async def scenario() -> None:
        notifier = Notifier(NotificationsConfig(channels=channels), tmp, NotificationOutbox(store),
                            {}, ZoneInfo("UTC"), lambda: datetime.now(UTC))  # fmt: skip
        notifier.start()
        for item in notices:
            notifier.route(item)
        while len(receiver.delivered()) < expect:  # noqa: ASYNC110 (another thread's state)
            await asyncio.sleep(0.01)
        await notifier.close()

    asyncio.run(scenario())


def test_each_channel_gets_only_its_accounts_and_severities(store, tmp_path) -> None:
    with Receiver() as receiver:
        run(receiver, store, tmp_path, [
            notice("info", "ACC-1"), notice("info", "ACC-2"), notice("critical", "ACC-2"),
            notice("critical", None), notice("warning", "ACC-1"),
        ], expect=4)  # fmt: skip
        got = sorted((r.path, r.json["title"]) for r in receiver.delivered())
    assert got == [
        ("/admin", "critical ACC-2"), ("/admin", "critical None"),
        ("/trader", "info ACC-1"), ("/trader", "warning ACC-1"),
    ]  # fmt: skip
    assert NotificationOutbox(store).depth() == {}  # delivered criticals leave the outbox


def test_a_critical_message_is_still_sent_when_the_outbox_cannot_be_written(
    store, tmp_path
) -> None:
    store._db.execute("PRAGMA query_only = 1")  # every write now fails, as on a full disk
    with Receiver() as receiver:
        run(receiver, store, tmp_path, [notice("critical", None)], expect=1)
        assert [r.json["title"] for r in receiver.delivered()] == ["critical None"]


def test_outbox_rows_of_a_channel_no_longer_configured_are_dropped_at_start(
    store, tmp_path
) -> None:
    outbox = NotificationOutbox(store)
    kept = notice("critical", None)
    outbox.add("admin", kept.to_json(), kept.at)
    outbox.add("removed", notice("critical", "ACC-1").to_json(), kept.at)
    outbox.add("removed", notice("critical", "ACC-2").to_json(), kept.at)
    with Receiver() as receiver:
        run(receiver, store, tmp_path, [], expect=1)  # the kept one is delivered
        assert [(r.path, r.json["title"]) for r in receiver.delivered()] == [
            ("/admin", "critical None")
        ]
    assert outbox.depth() == {}
