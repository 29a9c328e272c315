"""Online backups of the state database, and restoring one when the database is unusable.

Backups use SQLite's backup API from a second connection (a consistent snapshot beside the
live writer, WAL allows it), land under a temporary name and are renamed into place, so a
backup file is always whole. A few generations are kept.

At start-up a missing, empty or corrupt database is never silently replaced by a clean one
when the home shows earlier runs (the `history` marker, or backups): it is moved aside for
forensics and the newest backup that passes an integrity check is restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from loguru import logger

from risk_manager.exit_codes import StateError
from risk_manager.state.durable import is_storage_error

PREFIX = "risk_manager-"
SUFFIX = ".sqlite3"
MISSING = "missing"
EMPTY = "empty (no schema)"


@dataclass(frozen=True, slots=True)
class Restored:
    """What start-up did about an unusable database (reported by /health)."""

    problem: str
    moved_to: str
    backup: str
    at: str


def backup_database(database: Path, directory: Path, generations: int, now: datetime) -> Path:
    """Copy the live database into `directory`; keep the newest `generations` copies."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}{SUFFIX}"
    tmp = target.with_suffix(".tmp")
    try:
        copy_database(database, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a partial copy would only take space a full disk lacks
        raise
    for old in backups(directory)[generations:]:
        old.unlink(missing_ok=True)
    return target


class BackupSchedule:
    """Online backups every `interval` seconds and at each new trading day (first one at once)."""

    def __init__(self, database: Path, directory: Path, interval: float, generations: int):
        self.database, self.directory = database, directory
        self.interval, self.generations = interval, generations
        self._elapsed = 0.0
        self._day: date | None = None

    async def tick(self, trading_day: date, elapsed: float) -> None:
        """Call periodically with the seconds since the last call; backs up when due."""
        self._elapsed += elapsed
        if self._elapsed < self.interval and trading_day == self._day:
            return
        self._elapsed, self._day = 0.0, trading_day
        await asyncio.to_thread(self.take)

    def take(self) -> None:
        """One backup now (blocking); a failure is logged, the next one tries again."""
        try:
            backup_database(self.database, self.directory, self.generations, datetime.now(UTC))
        except (OSError, sqlite3.Error) as error:
            logger.warning("State backup failed: {}", error)  # the live database is untouched


def backups(directory: Path) -> list[Path]:
    """Backup files, newest first (the names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)


def problem_with(database: Path) -> str | None:
    """Why the database cannot be used, or None when it is sound and holds the schema."""
    if not database.exists():
        return MISSING
    try:
        # Read-write on purpose: after a kill -9 only a writer can recover the WAL, and a
        # read-only open would call a sound database unreadable.
        db = sqlite3.connect(database)
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        if is_storage_error(error):
            return None  # a full or read-only disk, not a bad file: the store copes with that
        return f"unreadable ({error})"
    if verdict != "ok":
        return f"corrupt ({verdict})"
    if version == 0:
        return EMPTY
    return None


def prepare(database: Path, backup_dir: Path, history: Path, now: datetime) -> Restored | None:
    """Make `database` usable before it is opened; None when nothing had to be done.

    A home without history (a first run) starts with a new database. Otherwise an unusable
    database is replaced by the newest sound backup, or StateError when there is none. The
    caller creates `history` once the database is open.
    """
    problem = problem_with(database)
    if problem is None:
        return None
    if problem in (MISSING, EMPTY) and not history.exists() and not backups(backup_dir):
        return None  # a first run (EMPTY: one that stopped before it wrote its schema)
    candidates = [path for path in backups(backup_dir) if problem_with(path) is None]
    if not candidates:
        raise StateError(
            f"the state database {database} is {problem} and {backup_dir} holds no sound "
            "backup; move the state directory aside to start with empty state"
        )
    moved = _move_aside(database, now)
    newest = candidates[0]
    tmp = database.with_suffix(".restoring")
    copy_database(newest, tmp)
    os.replace(tmp, database)
    return Restored(problem, str(moved), str(newest), now.isoformat())


def copy_database(source: Path, target: Path) -> None:
    """A whole copy through the backup API (the target is replaced)."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _move_aside(database: Path, now: datetime) -> Path:
    """Move the database and its WAL/SHM files into a dated forensics folder."""
    folder = database.parent / f"unusable-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{database}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, folder / path.name)
    return folder
