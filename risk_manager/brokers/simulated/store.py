"""The simulator's own SQLite file: what the stand-in external broker remembers on restart."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from loguru import logger

from risk_manager.brokers.simulated.exchange import (
    Changes,
    SimAccount,
    SimOrder,
    SimPosition,
    Snapshot,
)
from risk_manager.domain.events import Fill, OrderStatus, OrderType, Side
from risk_manager.exit_codes import StartupError
from risk_manager.state.durable import (
    REPLAY_BUDGET,
    Writer,
    looks_writable,
    open_database,
    open_writable,
)

SCHEMA_VERSION = 1
RETRY_SECONDS = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, name TEXT NOT NULL, balance TEXT NOT NULL,
    can_trade INTEGER NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    account_id TEXT NOT NULL, symbol TEXT NOT NULL, size INTEGER NOT NULL,
    avg_price TEXT NOT NULL, PRIMARY KEY (account_id, symbol)
);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, symbol TEXT NOT NULL,
    side INTEGER NOT NULL, type TEXT NOT NULL, quantity INTEGER NOT NULL, status TEXT NOT NULL,
    updated_at TEXT NOT NULL, limit_price TEXT, stop_price TEXT,
    triggered INTEGER NOT NULL, revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE TABLE IF NOT EXISTS fills (
    fill_id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, ts TEXT NOT NULL,
    symbol TEXT NOT NULL, side INTEGER NOT NULL, quantity INTEGER NOT NULL, price TEXT NOT NULL,
    fee TEXT NOT NULL, order_id TEXT NOT NULL, realized TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS prices (symbol TEXT PRIMARY KEY, price TEXT NOT NULL);
"""

_UPSERT_ACCOUNT = (
    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
    "name = excluded.name, balance = excluded.balance, can_trade = excluded.can_trade, "
    "seq = excluded.seq"
)
_UPSERT_POSITION = (
    "INSERT INTO positions VALUES (?, ?, ?, ?) ON CONFLICT (account_id, symbol) DO UPDATE SET "
    "size = excluded.size, avg_price = excluded.avg_price"
)
_UPSERT_ORDER = "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_FILL = "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# An upsert (not REPLACE) keeps the row id, so prices load back in listing order.
_UPSERT_PRICE = (
    "INSERT INTO prices VALUES (?, ?) ON CONFLICT (symbol) DO UPDATE SET price = excluded.price"
)
_SET_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"


def _ts(value: datetime) -> str:
    # Fixed-width UTC text, so string order is time order.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _prepare(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def _has_schema(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    return found.fetchone() is not None


class SimStore:
    """One connection, WAL, synchronous=NORMAL; every action is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # On a full or read-only disk: read-only, and the writer starts queueing.
        db, failure = open_database(path, _prepare)
        if failure is not None and not _has_schema(db):
            db.close()
            raise StartupError(f"cannot create the simulator database {path}: {failure}")
        self._writer = Writer(
            db, "simulator database", failure=failure, reopen=lambda: open_writable(path, _prepare)
        )
        self._next_retry = 0.0
        self._path = path

    def load(self) -> Snapshot:
        """Everything the exchange needs to resume: accounts, open state, fills, prices, ids."""
        db = self._writer.db
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        accounts = [
            SimAccount(aid, name, Decimal(balance), bool(can_trade), seq)
            for aid, name, balance, can_trade, seq in db.execute(
                "SELECT account_id, name, balance, can_trade, seq FROM accounts ORDER BY rowid"
            )
        ]
        positions = [
            SimPosition(aid, symbol, size, Decimal(avg))
            for aid, symbol, size, avg in db.execute(
                "SELECT account_id, symbol, size, avg_price FROM positions WHERE size != 0"
            )
        ]
        orders = [
            SimOrder(
                str(oid),
                aid,
                symbol,
                Side(side),
                OrderType(kind),
                qty,
                OrderStatus(status),
                datetime.fromisoformat(updated),
                _dec(limit),
                _dec(stop),
                bool(trig),
                rev,
            )
            for oid, aid, symbol, side, kind, qty, status, updated, limit, stop, trig, rev in (
                db.execute("SELECT * FROM orders WHERE status = 'working' ORDER BY order_id")
            )
        ]
        fills = [
            Fill(
                f"fill:{fid}",
                aid,
                datetime.fromisoformat(ts),
                symbol,
                Side(side),
                qty,
                Decimal(price),
                Decimal(fee),
                order_id,
            )
            for fid, aid, ts, symbol, side, qty, price, fee, order_id in db.execute(
                "SELECT fill_id, account_id, ts, symbol, side, quantity, price, fee, order_id "
                "FROM fills ORDER BY fill_id"
            )
        ]
        prices = {
            symbol: Decimal(price)
            for symbol, price in db.execute("SELECT symbol, price FROM prices ORDER BY rowid")
        }
        return Snapshot(
            accounts,
            positions,
            orders,
            fills,
            prices,
            int(meta.get("next_order_id", 1)),
            int(meta.get("next_fill_id", 1)),
        )

    def commit(self, changes: Changes) -> None:
        """Write one action's changed rows in a single transaction (a no-op if nothing changed).

        On a full or read-only disk the rows are queued in memory (the exchange, in memory,
        stays the truth) and retried at a later action, at most every RETRY_SECONDS; price
        moves alone are not queued then (a restart resumes from older prices, nothing else).
        """
        rows = (changes.accounts, changes.positions, changes.orders, changes.fills)
        changed = any(rows) or changes.next_order_id is not None or changes.next_fill_id is not None
        writer = self._writer
        if not changed and (writer.failure is not None or not changes.prices):
            return
        if writer.failure is not None and time.monotonic() >= self._next_retry:
            self._next_retry = time.monotonic() + RETRY_SECONDS
            if looks_writable(self._path):
                writer.retry(REPLAY_BUDGET)
        writer.begin()
        try:
            writer.executemany(
                _UPSERT_ACCOUNT,
                [
                    (a.account_id, a.name, str(a.balance), int(a.can_trade), a.seq)
                    for a in changes.accounts.values()
                ],
            )
            writer.executemany(
                _UPSERT_POSITION,
                [
                    (p.account_id, p.symbol, p.size, str(p.avg_price))
                    for p in changes.positions.values()
                ],
            )
            writer.executemany(
                _UPSERT_ORDER,
                [
                    (
                        int(o.order_id),
                        o.account_id,
                        o.symbol,
                        int(o.side),
                        o.type.value,
                        o.quantity,
                        o.status.value,
                        _ts(o.updated_at),
                        _text(o.limit_price),
                        _text(o.stop_price),
                        int(o.triggered),
                        o.revision,
                    )
                    for o in changes.orders.values()
                ],
            )
            writer.executemany(
                _INSERT_FILL,
                [
                    (
                        int(f.event_id.removeprefix("fill:")),
                        f.account_id,
                        _ts(f.ts),
                        f.symbol,
                        int(f.side),
                        f.quantity,
                        str(f.price),
                        str(f.fee),
                        f.order_id,
                        str(realized),
                    )
                    for f, realized in changes.fills
                ],
            )
            writer.executemany(_UPSERT_PRICE, [(s, str(p)) for s, p in changes.prices.items()])
            for key, value in (
                ("next_order_id", changes.next_order_id),
                ("next_fill_id", changes.next_fill_id),
            ):
                if value is not None:
                    writer.execute(_SET_META, (key, str(value)))
        except BaseException:
            writer.rollback()
            raise
        writer.commit()

    def close(self) -> None:
        """Close the file (a last try at queued rows first); the store is unusable afterwards."""
        if not self._writer.retry():
            logger.error("Simulator state not stored: {}", self._writer.failure)
        self._writer.db.close()
