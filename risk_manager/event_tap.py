"""`[daemon] record_events`: every event the broker pushes, appended to a recording.

The file is in the replay broker's format (risk_manager.domain.recording), so a real trading
day can be played again through other rules. Appending is part of receiving an event, on the
loop thread: a line is a few hundred bytes, written through the OS cache. A recording is a
convenience, never state: a failed write is logged (once per run of failures) and skipped,
and the event still reaches the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from loguru import logger

from risk_manager.brokers.base import EventSink
from risk_manager.domain.events import Event
from risk_manager.domain.recording import event_line


class EventRecorder:
    """Appends events to one JSON Lines file (a restart continues it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Opened at the first event, and again after a failed open: a file that cannot be
        # opened (a missing folder, a read-only disk) is a failed write, not a failed start.
        self._file: IO[str] | None = None
        self._closed = False
        self._failing = False
        self.written = 0

    def tap(self, sink: EventSink) -> EventSink:
        """`sink`, with each event recorded before it is handed on."""

        def recorded(event: Event) -> None:
            self.write(event)
            sink(event)

        return recorded

    def write(self, event: Event) -> None:
        if self._closed:
            return
        try:
            if self._file is None:
                # Line-buffered: a kill loses at most the line being written.
                self._file = self.path.open("a", encoding="utf-8", buffering=1)
            self._file.write(event_line(event) + "\n")
        except OSError as error:
            if not self._failing:
                logger.error("Cannot record events to {}: {}; skipping them until a write "
                             "succeeds", self.path, error.strerror or error)  # fmt: skip
            self._failing = True
            return
        if self._failing:
            logger.warning("Recording events to {} again", self.path)
            self._failing = False
        self.written += 1

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            try:
                self._file.close()
            except OSError as error:
                logger.error("Closing the event recording {}: {}", self.path, error)
            self._file = None
