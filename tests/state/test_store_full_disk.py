"""The store on a real full disk: writes are queued, reads see them, a retry catches up."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import Fill, Side
from risk_manager.state.durable import is_storage_error
from risk_manager.state.ledger import Position
from risk_manager.state.notifications import NotificationOutbox
from risk_manager.state.store import Store
from tests.small_disk import fill, small_disk

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
SPEC = ContractSpec("MNQ", "MNQ", Decimal("0.25"), Decimal("0.50"))
TABLES = (
    "events", "fills", "positions", "enforcement", "lockouts", "rule_state", "meta",
    "notification_outbox", "trader_sessions",
)  # fmt: skip


@pytest.fixture(scope="module")
def disk() -> Iterator[Path]:
    with small_disk() as where:
        yield where


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def a_fill(n: int, qty: int = 1) -> Fill:
    side = Side.BUY if n % 2 == 0 else Side.SELL
    return Fill(f"fill:{n}", "ACC", T0 + timedelta(seconds=n), "MNQ", side, qty,
                Decimal("20000") + n, Decimal("0.37"), f"ord-{n}")  # fmt: skip


# Each operation runs one transaction and returns what the caller would have seen.
def op_fill(store: Store, n: int) -> object:
    with store.transaction():
        if not store.claim_event(f"fill:{n}", "ACC", "fill", T0):
            return "duplicate"
        store.insert_fill(a_fill(n), DAY, Decimal(n), n % 2)
        store.save_position("ACC", "MNQ", Position("MNQ", SPEC, n, Decimal(n), T0) if n else None)
    return "applied"


def op_batch(store: Store, n: int) -> object:
    with store.transaction():
        batch = store.journal.open("ACC", [f"rule{n}"], "why", {"n": n}, [], T0, "pending")
        lockout = store.lockouts.insert("ACC", "rule", None, "why", T0, "never", None, "reducing")
    with store.transaction():
        store.journal.close(batch, status="done", responses=[], outcome="ok",
                            first_action_ms=1.0, latency_ms=2.0, now=T0)  # fmt: skip
        if n % 2:
            store.lockouts.end(lockout, T0, "admin")
    return batch, lockout


def op_state(store: Store, n: int) -> object:
    with store.transaction():
        store.rule_state.put("ACC", f"rule{n % 3}", {"n": n})
        store.set_meta("snapshot_at", str(n))
    return None


def op_outbox(store: Store, n: int) -> object:
    outbox = NotificationOutbox(store)
    first = outbox.add("admin", {"n": n}, T0)
    second = outbox.add("admin", {"n": -n}, T0)
    outbox.remove([first])
    return first, second


def op_abandoned(store: Store, n: int) -> object:
    """A transaction that fails for a reason of its own: nothing of it may stay."""
    try:
        with store.transaction():
            store.lockouts.insert("ACC", "gone", None, "bug", T0, "never", None, "halted")
            store.claim_event(f"abandoned:{n}", "ACC", "fill", T0)
            raise LookupError("a bug")
    except LookupError:
        return None
    raise AssertionError("unreachable")


def op_pad(store: Store, n: int) -> object:
    """A write of several pages, to find out that the disk is full."""
    with store.transaction():
        store.set_meta(f"pad{n}", "x" * 16384)
    return None


OPS = {"fill": op_fill, "batch": op_batch, "state": op_state, "outbox": op_outbox,
       "abandoned": op_abandoned}  # fmt: skip
operation = st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 6))


def test_a_full_disk_queues_writes_and_a_retry_stores_them(disk: Path) -> None:
    store = Store(disk / "queued.sqlite3")
    op_fill(store, 1)
    filler = fill(disk)
    assert store.degraded is None
    assert op_fill(store, 2) == "applied"  # the commit fails: queued, not raised
    assert store.degraded is not None
    assert "full" in store.degraded
    assert op_fill(store, 2) == "duplicate"  # the queue counts for the exactly-once guard
    assert op_fill(store, 1) == "duplicate"  # and so does the database
    assert op_fill(store, 3) == "applied"
    batch, lockout = op_batch(store, 1)
    assert (batch, lockout) == (1, 1)  # the ids SQLite would have given
    assert not store.retry_writes()  # still full
    filler.unlink()
    assert store.retry_writes()
    assert store.degraded is None
    store.close()
    with closing(sqlite3.connect(disk / "queued.sqlite3")) as db:
        assert db.execute("SELECT event_id FROM events ORDER BY 1").fetchall() == [
            ("fill:1",),
            ("fill:2",),
            ("fill:3",),
        ]
        assert db.execute("SELECT COUNT(*) FROM fills").fetchone() == (3,)
        assert db.execute("SELECT id, status FROM enforcement").fetchall() == [(1, "done")]
        assert db.execute("SELECT id, end_reason FROM lockouts").fetchall() == [(1, "admin")]


def test_the_store_survives_a_full_disk_at_close_and_reports_what_was_not_stored(
    disk: Path,
) -> None:
    store = Store(disk / "closing.sqlite3")
    filler = fill(disk)
    op_fill(store, 4)
    assert store.writer.pending_statements == 3
    store.checkpoint()  # skipped, no error
    store.close()  # logs what is lost, does not raise
    filler.unlink()
    assert dump(disk / "closing.sqlite3")["events"] == []


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    before=st.lists(operation, max_size=4),
    during=st.lists(operation, min_size=1, max_size=8),
    after=st.lists(operation, max_size=4),
    budget=st.one_of(st.none(), st.integers(1, 12)),
)
def test_after_recovery_the_database_equals_an_always_healthy_run(
    disk: Path, tmp_path_factory: pytest.TempPathFactory, before, during, after, budget
) -> None:
    """`budget`: statements per retry; while a long queue is stored in turns, new writes
    still queue behind it."""
    healthy = Store(tmp_path_factory.mktemp("healthy") / "db.sqlite3")
    target = disk / "hypothesis.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    degraded = Store(target)
    try:
        seen = [OPS[name](degraded, n) for name, n in before]
        filler = fill(disk)
        pads = 0
        try:
            while degraded.degraded is None:  # until a write fails: then `during` is queued
                assert pads < 20, "the full disk keeps taking writes"
                seen.append(op_pad(degraded, pads))
                pads += 1
            seen += [OPS[name](degraded, n) for name, n in during]
        finally:
            filler.unlink()
        for name, n in after:
            degraded.retry_writes(budget)
            seen.append(OPS[name](degraded, n))
        for _ in range(200):
            if degraded.retry_writes(budget):
                break
        assert degraded.degraded is None
        seen_healthy = [OPS[name](healthy, n) for name, n in before]
        seen_healthy += [op_pad(healthy, n) for n in range(pads)]
        seen_healthy += [OPS[name](healthy, n) for name, n in during + after]
        assert seen == seen_healthy  # same answers: duplicates, batch and lockout ids
    finally:
        healthy.close()
        degraded.close()
    assert dump(target) == dump(healthy.path)


def test_storage_errors_are_told_apart_from_bugs() -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
        db.execute("PRAGMA query_only = 1")
        with pytest.raises(sqlite3.Error) as readonly:
            db.execute("INSERT INTO t VALUES (1)")
        assert is_storage_error(readonly.value)
        with pytest.raises(sqlite3.Error) as bug:
            db.execute("INSERT INTO nowhere VALUES (1)")
        assert not is_storage_error(bug.value)
    assert is_storage_error(OSError(28, "No space left on device"))
    assert not is_storage_error(OSError(2, "No such file"))


def test_an_alert_queued_when_a_commit_fails_is_its_own_transaction(disk: Path) -> None:
    """The storage guard hears of the failure from inside the failing commit and its critical
    alert goes to the notification outbox: that write must be queued as a transaction of its
    own, not left over for whatever transaction comes next (none may before the retry)."""
    store = Store(disk / "alerted.sqlite3")
    outbox = NotificationOutbox(store)
    queued: list[int] = []

    def on_change(failure: str | None) -> None:
        if failure is not None:
            queued.append(outbox.add("admin", {"message": failure}, T0))

    store.writer.on_change = on_change
    filler = fill(disk)
    try:
        pads = 0
        while store.degraded is None:  # a full disk may still take a small write or two
            assert pads < 20, "the full disk keeps taking writes"
            op_pad(store, pads)
            pads += 1
        assert queued == [1]
        assert not store.retry_writes()  # still full (a retry runs between transactions)
        assert len(store.writer.pending) == 2  # the failed one, then the alert's
    finally:
        filler.unlink()
    assert store.retry_writes()
    store.close()
    stored = dump(disk / "alerted.sqlite3")
    assert [row[0] for row in stored["notification_outbox"]] == [1]
