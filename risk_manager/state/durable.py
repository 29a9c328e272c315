"""Writes that outlive a full disk or a read-only file system: recorded, queued, replayed.

Every write statement goes through a `Writer`, which records it (SQL and parameters) while it
runs it. When SQLite fails for a storage reason (disk full, I/O error, read-only file system)
the transaction is rolled back and its statements are kept, in order, in a pending queue; from
then on new transactions are only recorded, not run, because the caller's memory (already
updated) is the truth. `retry()` replays the queue in one transaction; when it commits, the
database holds exactly what an always-healthy run would have written and recording stops.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

# Primary result codes (the low byte of an extended code) that mean "the storage failed",
# as opposed to a bug in the SQL or a constraint: retrying later can succeed.
_STORAGE_CODES = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
}
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO}
MIN_FREE_BYTES = 64 * 1024  # below this a replay is not even tried
REPLAY_BUDGET = 5_000  # statements per retry turn (~50 ms on the loop); a long queue takes turns

Params = Sequence[Any]


def is_storage_error(error: BaseException) -> bool:
    """Whether `error` is the disk's fault (full, read-only, failing) rather than the code's."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _STORAGE_CODES
    return isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS


def open_database(
    path: Path, prepare: Callable[[sqlite3.Connection], None]
) -> tuple[sqlite3.Connection, str | None]:
    """A writable connection, prepared (pragmas, schema), and None; on a full or read-only disk
    a read-only connection and why (the writer then starts queueing; `retry()` reopens)."""
    try:
        return open_writable(path, prepare), None
    except sqlite3.Error as error:
        if not is_storage_error(error):
            raise
        return open_read_only(path), str(error)


def open_writable(path: Path, prepare: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        prepare(db)
        db.execute("BEGIN IMMEDIATE")  # a read-only file system refuses the write lock
        db.execute("ROLLBACK")
    except BaseException:
        db.close()
        raise
    return db


def open_read_only(path: Path) -> sqlite3.Connection:
    """Read the database on a disk that takes no writes: read-only, or, when even the WAL index
    cannot be made, the main file alone (right only when no WAL holds commits beyond it)."""
    uri = path.resolve().as_uri()
    modes = ["mode=ro"]
    wal = Path(f"{path}-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        modes.append("immutable=1")
    failure: sqlite3.Error | None = None
    for mode in modes:
        db = sqlite3.connect(f"{uri}?{mode}", uri=True, isolation_level=None,
                             check_same_thread=False)  # fmt: skip
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            db.close()
            failure = error
            continue
        return db
    assert failure is not None
    raise failure


def looks_writable(database: Path) -> bool:
    """Cheap check before a replay: not mounted read-only, some space free."""
    if sys.platform == "win32":
        return True  # no statvfs: just try
    try:
        stats = os.statvfs(database.parent)
    except OSError:
        return True
    if stats.f_flag & os.ST_RDONLY:
        return False
    return stats.f_bavail * stats.f_frsize >= MIN_FREE_BYTES


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    rows: tuple[Params, ...]  # one parameter row per execution


class Writer:
    """The one path for writes: run now, or record while the storage is unavailable."""

    def __init__(
        self, db: sqlite3.Connection, name: str = "state database", *,
        failure: str | None = None, reopen: Callable[[], sqlite3.Connection] | None = None,
    ) -> None:  # fmt: skip
        """`failure`: the storage failed already when `db` was opened (read-only then);
        `reopen`: how `retry()` gets a writable connection in its place."""
        self._db = db
        self.name = name
        self._reopen = reopen if failure is not None else None
        self._tx: list[Statement] = []
        self._tx_keys: set[str] = set()
        self._tx_ids: dict[str, int] = {}
        self._tx_failed = False
        self._last_error = ""
        self.pending: list[list[Statement]] = []  # failed transactions, oldest first
        self.pending_statements = 0
        self._pending_keys: set[str] = set()
        self._pending_ids: dict[str, int] = {}
        self.failure = failure  # why writes are only recorded (None: healthy)
        self.stored = 0  # statements stored by the retries of the current failure
        self.on_change: Callable[[str | None], None] | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for reads (it changes when a read-only start becomes writable)."""
        return self._db

    @property
    def recording(self) -> bool:
        """True while statements are recorded without being run."""
        return self.failure is not None or self._tx_failed

    # -- one transaction (driven by Store.transaction) --------------------------------------

    def begin(self) -> None:
        if not self.recording:
            self._run_or_fail(lambda: self._db.execute("BEGIN IMMEDIATE"))

    def commit(self) -> None:
        """End the transaction: COMMIT, or queue it when the storage failed (or fails now)."""
        if not self.recording:
            self._run_or_fail(lambda: self._db.execute("COMMIT"))
        if self.recording and self._tx:
            self.pending.append(self._tx)
            self.pending_statements += sum(len(s.rows) for s in self._tx)
            self._pending_keys |= self._tx_keys
            for table, highest in self._tx_ids.items():
                self._pending_ids[table] = max(highest, self._pending_ids.get(table, 0))
        self._end()

    def rollback(self) -> None:
        """Abandon the transaction (an exception in the caller): nothing of it is kept."""
        self._abandon()
        self._end()

    def _end(self) -> None:
        """Forget the transaction; a storage failure it hit first starts the recording."""
        failed_now = self._tx_failed and self.failure is None
        self._tx, self._tx_keys, self._tx_ids, self._tx_failed = [], set(), {}, False
        if failed_now:
            self._set_failure(self._last_error)

    # -- statements -------------------------------------------------------------------------

    def execute(self, sql: str, params: Params = ()) -> int | None:
        """Run (or record) one statement; its rowcount, or None when it was only recorded."""
        self._tx.append(Statement(sql, (tuple(params),)))
        if self.recording:
            return None
        cursor = self._run_or_fail(lambda: self._db.execute(sql, params))
        return None if cursor is None else cursor.rowcount

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        listed = tuple(tuple(row) for row in rows)
        if not listed:
            return
        self._tx.append(Statement(sql, listed))
        if not self.recording:
            self._run_or_fail(lambda: self._db.executemany(sql, listed))

    def insert(self, table: str, sql: str, params: Params) -> int:
        """An INSERT whose first parameter is the row's integer id; returns the id.

        `params[0]` is ignored: SQLite picks the id (a NULL id) while healthy, and the recorded
        statement carries that id, so a replay writes the same row and later statements naming
        the id (an UPDATE of the batch) still match. While recording, the id is the one SQLite
        would pick: one more than the highest in the database or in the queue.
        """
        row = tuple(params)[1:]
        if not self.recording:
            cursor = self._run_or_fail(lambda: self._db.execute(sql, (None, *row)))
            if cursor is not None and cursor.lastrowid is not None:
                return self._record_insert(table, sql, cursor.lastrowid, row)
        # The table name is a constant of the calling repository, not input.
        (stored,) = self._db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()  # noqa: S608
        new_id = max(stored, self._pending_ids.get(table, 0), self._tx_ids.get(table, 0)) + 1
        return self._record_insert(table, sql, new_id, row)

    def _record_insert(self, table: str, sql: str, new_id: int, row: Params) -> int:
        self._tx.append(Statement(sql, ((new_id, *row),)))
        self._tx_ids[table] = max(new_id, self._tx_ids.get(table, 0))
        return new_id

    def note(self, key: str) -> None:
        """Remember `key` with this transaction (e.g. a claimed event id) until it is stored."""
        self._tx_keys.add(key)

    def noted(self, key: str) -> bool:
        """Whether `key` was noted by a transaction the database does not hold yet."""
        return key in self._tx_keys or key in self._pending_keys

    def _run_or_fail(self, run: Callable[[], sqlite3.Cursor]) -> sqlite3.Cursor | None:
        try:
            return run()
        except sqlite3.Error as error:
            if not is_storage_error(error):
                raise
            self._tx_failed = True
            self._last_error = str(error)
            self._abandon()
            return None

    def _abandon(self) -> None:
        """Roll back after a storage error (SQLite may have done it already)."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # -- catching up ------------------------------------------------------------------------

    def retry(self, budget: int | None = None) -> bool:
        """Replay queued transactions, oldest first, in one transaction of about `budget`
        statements (None: all); True when nothing is queued any more.

        A prefix of the queue stored is a state an always-healthy run went through, so a
        long queue can be stored over several calls without holding the loop for long.
        """
        if self.failure is None:
            return True
        assert not self._tx, "retry() runs between transactions"
        count, statements = 0, 0
        for transaction in self.pending:
            if budget is not None and count and statements >= budget:
                break
            count += 1
            statements += sum(len(s.rows) for s in transaction)
        try:
            if self._reopen is not None:
                writable = self._reopen()
                self._db.close()
                self._db, self._reopen = writable, None
            self._replay(self.pending[:count])
        except sqlite3.Error as error:
            self._abandon()
            if not is_storage_error(error):
                raise
            self.failure = str(error)
            return False
        del self.pending[:count]
        self.pending_statements -= statements
        self.stored += statements
        if self.pending:
            return False  # the keys and ids of what was stored stay noted: harmless
        logger.info("{} writable again: {} queued statement(s) stored", self.name, self.stored)
        self._pending_keys, self._pending_ids, self.stored = set(), {}, 0
        self._set_failure(None)
        return True

    def _replay(self, transactions: list[list[Statement]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        for transaction in transactions:
            # Each recorded transaction in a savepoint: one the database refuses for a reason
            # other than storage (which would be a bug) must not block the others forever.
            db.execute("SAVEPOINT replay")
            try:
                for statement in transaction:
                    db.executemany(statement.sql, statement.rows)
            except sqlite3.Error as error:
                if is_storage_error(error):
                    raise
                db.execute("ROLLBACK TO replay")
                logger.error("Queued write to the {} refused, dropped: {}", self.name, error)
            db.execute("RELEASE replay")
        db.execute("COMMIT")

    def _set_failure(self, failure: str | None) -> None:
        self.failure = failure
        if failure is not None:
            logger.critical("Cannot write the {}, writes queued in memory: {}", self.name, failure)
        if self.on_change is not None:
            self.on_change(failure)
