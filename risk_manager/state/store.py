"""The SQLite store: one connection, one writer, WAL, numbered migrations.

Everything the pipeline learns commits here *before* anything acts on it. Writes are small
statements inside `transaction()`; the caller (the pipeline) owns transaction boundaries. All
writes go through one `Writer` (durable.py): when the disk is full or read-only they are queued
in memory and replayed by `retry_writes()`, and `degraded` says why.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from loguru import logger

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import Fill, Order, OrderStatus, OrderType, Side
from risk_manager.exit_codes import StartupError
from risk_manager.state.durable import Writer, open_database, open_writable
from risk_manager.state.history import HistoryReader
from risk_manager.state.journal import JournalRows
from risk_manager.state.ledger import AccountState, DayTotals, Position
from risk_manager.state.lockout_rows import LockoutRows
from risk_manager.state.rule_state import RuleStateStore
from risk_manager.state.send_rows import SendRows
from risk_manager.state.trader_session_rows import TraderSessionRows


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("risk_manager.state") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _migrate(db: sqlite3.Connection) -> None:
    """Apply numbered migrations newer than the file's user_version."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    for number, script in _migrations():
        if number > current:
            db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class Store:
    """Owner of the daemon's database file."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.path = path
        self._synchronous = synchronous
        # On a full or read-only disk this opens read-only and the writer starts queueing.
        db, failure = open_database(path, self._prepare)
        if failure is not None:
            failure = f"cannot open {path.name} for writing: {failure}"
        self.writer = Writer(db, failure=failure, reopen=lambda: open_writable(path, self._prepare))
        if failure is not None:
            self._check_schema(failure)
        self._checkpointer: sqlite3.Connection | None = None  # opened at the first checkpoint
        self._depth = 0
        # The repositories of the tables other packages keep (no other package writes SQL).
        self.journal = JournalRows(self.writer)
        self.lockouts = LockoutRows(self.writer)
        self.rule_state = RuleStateStore(self.writer)
        self.trader_sessions = TraderSessionRows(self.writer)
        self.sends = SendRows(self.writer)
        self.history = HistoryReader(path)

    @property
    def _db(self) -> sqlite3.Connection:
        return self.writer.db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9) with every commit intact.
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        # Checkpoints copy the WAL into the database file; done automatically they land on
        # whichever commit crosses the threshold, i.e. on the event path. `checkpoint()` does
        # them from a second connection, off the loop thread (WAL lets it run beside writes).
        db.execute("PRAGMA wal_autocheckpoint=0")
        _migrate(db)

    def _check_schema(self, failure: str) -> None:
        """A read-only start needs the schema complete: migrations are writes."""
        current = self._db.execute("PRAGMA user_version").fetchone()[0]
        if current < _migrations()[-1][0]:
            self._db.close()
            raise StartupError(f"cannot create or update the state database {self.path}: {failure}")

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """One atomic unit; nested use joins the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.writer
            finally:
                self._depth -= 1
            return
        self.writer.begin()
        self._depth = 1
        try:
            yield self.writer
        except BaseException:
            self._depth = 0
            self.writer.rollback()
            raise
        # Out of the transaction before it ends: a failing commit tells the storage guard,
        # whose alert writes the outbox in a transaction of its own, not in this finished one.
        self._depth = 0
        self.writer.commit()

    @property
    def degraded(self) -> str | None:
        """Why writes are only queued in memory right now (None: the disk takes them)."""
        return self.writer.failure

    def retry_writes(self, budget: int | None = None) -> bool:
        """Try to store the queued writes (about `budget` statements, None: all); True when
        nothing is queued any more."""
        return self.writer.retry(budget)

    def reads(self) -> sqlite3.Connection:
        """The connection, for a repository's plain reads (no transaction, so they still work
        when writes fail); only code in this package writes SQL."""
        return self._db

    def checkpoint(self) -> None:
        """Move committed WAL pages into the database file (call from a worker thread).

        Skipped while writes fail; a failed checkpoint leaves the WAL as it was (it is only
        housekeeping), so the error is logged and the next one tries again.
        """
        if self.degraded is None:
            self._checkpoint("PASSIVE")

    def close(self) -> None:
        """Last try at the queue, then close (what cannot be stored is logged as lost)."""
        if not self.retry_writes():
            logger.critical(
                "Closing with {} write(s) not stored (storage unavailable: {}); a restart "
                "reconciles positions and orders with the broker",
                self.writer.pending_statements, self.degraded,
            )  # fmt: skip
        else:
            self._checkpoint("TRUNCATE")
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._db.close()

    def _checkpoint(self, mode: str) -> None:
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, check_same_thread=False)
            self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.Error as error:
            logger.warning("WAL checkpoint failed: {}", error)

    # -- events ---------------------------------------------------------------------------

    def claim_event(self, event_id: str, account_id: str, kind: str, ts: datetime) -> bool:
        """Record an event id; False when it was applied before (exactly-once guard).

        While writes are only queued, "applied before" is the database or the queue.
        """
        writer = self.writer
        sql, params = "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", (
            event_id, account_id, kind, ts.isoformat(),
        )  # fmt: skip
        if writer.recording:
            if self._known_event(event_id):
                return False
            writer.execute(sql, params)
        else:
            changed = writer.execute(sql, params)
            # None: the write failed just now and was queued (a no-op on replay if known).
            if changed == 0 or (changed is None and self._known_event(event_id)):
                return False
        writer.note(event_id)
        return True

    def _known_event(self, event_id: str) -> bool:
        if self.writer.noted(event_id):
            return True
        found = self._db.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,))
        return found.fetchone() is not None

    def insert_fill(self, fill: Fill, day: date, realized: Decimal, opened: int) -> None:
        self.writer.execute(
            "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.event_id, fill.account_id, day.isoformat(), fill.ts.isoformat(),
                fill.symbol, int(fill.side), fill.quantity, str(fill.price), str(fill.fee),
                str(realized), opened, fill.order_id,
            ),
        )  # fmt: skip

    def fills_of_day(self, account_id: str, day: date) -> list[sqlite3.Row]:
        """Today's fills, oldest first, as rows (for rules that count trades)."""
        self._db.row_factory = sqlite3.Row
        try:
            return self._db.execute(
                "SELECT * FROM fills WHERE account_id = ? AND trading_day = ? ORDER BY ts",
                (account_id, day.isoformat()),
            ).fetchall()
        finally:
            self._db.row_factory = None

    # -- accounts, days, positions, orders --------------------------------------------------

    def save_account(self, account: AccountState) -> None:
        self.writer.execute(
            "INSERT INTO accounts VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
            "name = excluded.name, balance = excluded.balance, can_trade = excluded.can_trade, "
            "trading_day = excluded.trading_day",
            (
                account.account_id, account.name, str(account.balance), int(account.can_trade),
                account.day.trading_day.isoformat(),
            ),
        )  # fmt: skip

    def save_day(self, account_id: str, day: DayTotals) -> None:
        self.writer.execute(
            "INSERT OR REPLACE INTO account_days VALUES (?, ?, ?, ?, ?, ?)",
            (
                account_id, day.trading_day.isoformat(), str(day.realized_gross), str(day.fees),
                day.fills, day.entries,
            ),
        )  # fmt: skip

    def save_position(self, account_id: str, symbol: str, position: Position | None) -> None:
        if position is None:
            self.writer.execute(
                "DELETE FROM positions WHERE account_id = ? AND symbol = ?", (account_id, symbol)
            )
            return
        self.writer.execute(
            "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?)",
            (
                account_id, symbol, position.size, str(position.avg_price),
                position.opened_at.isoformat(),
                None if position.last_price is None else str(position.last_price),
            ),
        )  # fmt: skip

    def save_order(self, order: Order) -> None:
        """Keep a working order; forget one that is no longer working."""
        if order.status is not OrderStatus.WORKING:
            self.writer.execute(
                "DELETE FROM orders WHERE account_id = ? AND order_id = ?",
                (order.account_id, order.order_id),
            )
            return
        self.writer.execute(
            "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.account_id, order.order_id, order.symbol, int(order.side), str(order.type),
                order.quantity,
                None if order.limit_price is None else str(order.limit_price),
                None if order.stop_price is None else str(order.stop_price),
                order.updated_at.isoformat(),
            ),
        )  # fmt: skip

    def replace_orders(self, account_id: str, orders: list[Order]) -> None:
        self.writer.execute("DELETE FROM orders WHERE account_id = ?", (account_id,))
        for order in orders:
            self.save_order(order)

    def snapshot_prices(self, accounts: list[AccountState]) -> None:
        """Persist the last marks so a restart shows unrealized PnL before the first quote."""
        rows = [
            (None if p.last_price is None else str(p.last_price), a.account_id, p.symbol)
            for a in accounts
            for p in a.positions.values()
        ]
        self.writer.executemany(
            "UPDATE positions SET last_price = ? WHERE account_id = ? AND symbol = ?", rows
        )

    def load_account(
        self, account_id: str, spec_of: Callable[[str], ContractSpec]
    ) -> AccountState | None:
        """Rebuild one account from disk (positions, day totals, working orders)."""
        row = self._db.execute(
            "SELECT name, balance, can_trade, trading_day FROM accounts WHERE account_id = ?",
            (account_id,),
        ).fetchone()
        if row is None:
            return None
        name, balance, can_trade, day_text = row
        day = date.fromisoformat(day_text)
        totals = self._db.execute(
            "SELECT realized_gross, fees, fills, entries FROM account_days "
            "WHERE account_id = ? AND trading_day = ?",
            (account_id, day_text),
        ).fetchone()
        day_totals = (
            DayTotals(day, Decimal(totals[0]), Decimal(totals[1]), totals[2], totals[3])
            if totals
            else DayTotals(day)
        )
        account = AccountState(account_id, name, Decimal(balance), bool(can_trade), day_totals)
        for symbol, size, avg, opened, last in self._db.execute(
            "SELECT symbol, size, avg_price, opened_at, last_price FROM positions "
            "WHERE account_id = ?",
            (account_id,),
        ):
            position = Position(
                symbol, spec_of(symbol), size, Decimal(avg), datetime.fromisoformat(opened)
            )
            if last is not None:
                position.mark(Decimal(last))
            account.positions[symbol] = position
        for oid, symbol, side, kind, qty, limit, stop, updated in self._db.execute(
            "SELECT order_id, symbol, side, type, quantity, limit_price, stop_price, updated_at "
            "FROM orders WHERE account_id = ?",
            (account_id,),
        ):
            account.orders[oid] = Order(
                oid, account_id, symbol, Side(side), OrderType(kind), qty,
                OrderStatus.WORKING, datetime.fromisoformat(updated), _dec(limit), _dec(stop),
            )  # fmt: skip
        return account

    def set_meta(self, key: str, value: str) -> None:
        self.writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
