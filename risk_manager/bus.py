"""Fan-out of pipeline happenings to live listeners (the SSE stream for dashboards)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Message = dict[str, Any]


class EventBus:
    """Publish is synchronous and never blocks: a slow listener loses its oldest messages."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[Message]] = set()
        self._queue_size = queue_size

    @property
    def has_listeners(self) -> bool:
        return bool(self._queues)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send one message to every listener."""
        if not self._queues:
            return
        message = {"type": kind, "data": data}
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    @contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Message]]:
        """A queue that receives every message published while the context is open."""
        queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
