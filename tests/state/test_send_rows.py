"""The journal of closing orders sent: written before the request, read back after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from risk_manager.state.send_rows import SendRow
from risk_manager.state.store import Store

SENT_AT = datetime(2026, 3, 2, 15, 30, 0, 123456, tzinfo=UTC)


def _insert(store: Store, quantity: int | None = 3, seen: frozenset[str] = frozenset()) -> int:
    with store.transaction():
        return store.sends.insert("A", "MNQ", -1, quantity, 4, SENT_AT, seen)


def test_a_send_reads_back_as_written_until_it_is_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path / "daemon.sqlite3")
    first = _insert(store, 3, frozenset({"17", "9"}))
    whole = _insert(store, None)

    assert store.sends.unfinished() == [
        SendRow(first, "A", "MNQ", -1, 3, 4, SENT_AT, frozenset({"17", "9"}), None, False, None),
        SendRow(whole, "A", "MNQ", -1, None, 4, SENT_AT, frozenset(), None, False, None),
    ]

    with store.transaction():
        store.sends.delete(first)
    assert [row.id for row in store.sends.unfinished()] == [whole]


def test_what_the_broker_said_is_kept_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "daemon.sqlite3"
    store = Store(path)
    named, unnamed, filled = _insert(store), _insert(store), _insert(store)
    fill_time = SENT_AT + timedelta(seconds=2)
    with store.transaction():
        store.sends.acknowledge(named, "42")
        store.sends.acknowledge(unnamed, None)  # a broker that does not name its closes
        store.sends.name_order(filled, "43")  # found by a lookup after a lost reply
        store.sends.filled(filled, fill_time)
    store.close()

    rows = {row.id: row for row in Store(path).sends.unfinished()}

    assert (rows[named].order_id, rows[named].acknowledged) == ("42", True)
    assert (rows[unnamed].order_id, rows[unnamed].acknowledged) == (None, True)
    assert (rows[filled].order_id, rows[filled].acknowledged) == ("43", False)
    assert rows[filled].filled_at == fill_time


def test_acknowledging_without_an_id_keeps_one_found_earlier(tmp_path: Path) -> None:
    store = Store(tmp_path / "daemon.sqlite3")
    send = _insert(store)
    with store.transaction():
        store.sends.name_order(send, "42")
        store.sends.acknowledge(send, None)

    assert store.sends.unfinished()[0].order_id == "42"
