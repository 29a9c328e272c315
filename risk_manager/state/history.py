"""Queries of past records for the API, off the event loop, on read-only connections.

The store's one connection belongs to the loop (the writer); a slow history query there would
delay enforcement. WAL lets these readers run beside the writer and see committed data only.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

from risk_manager.state.durable import open_read_only

T = TypeVar("T")


class HistoryReader:
    """Runs a query function in a worker thread on its own read-only connection."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """`query(connection)` in a worker thread; the connection is closed afterwards."""
        return await asyncio.to_thread(self._run, query)

    def _run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        # Also on a full or read-only disk, where a plain read-only open can fail.
        with closing(open_read_only(self._path)) as db:
            return query(db)
