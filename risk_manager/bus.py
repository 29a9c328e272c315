"""Fan-out of pipeline happenings to live listeners (the SSE stream) and subscribers (notify/).

Every message is `{"type": kind, "data": {...}}`. A message whose data carries `"severity"`
("info" / "warning" / "critical") and `"message"` (one human sentence) is an *alert*: the
notifier forwards any such message without knowing its kind, so a new alert needs no code
there — publish it with `EventBus.alert`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

Message = dict[str, Any]
Severity = Literal["info", "warning", "critical"]
Subscriber = Callable[[str, dict[str, Any]], None]


# The last message a dropped listener receives (its stream then ends).
DROPPED: Message = {"type": "dropped", "data": {"reason": "the client fell too far behind"}}


class EventBus:
    """Publish is synchronous and never blocks: a listener whose queue is full is dropped.

    Dropping is preferable to thinning: a dashboard that silently misses a lockout would
    show a wrong picture, while a closed stream tells it to reconnect and start afresh.
    """

    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[Message]] = set()
        self._subscribers: list[Subscriber] = []
        self._queue_size = queue_size

    @property
    def has_listeners(self) -> bool:
        """Whether a live stream listens (the per-quote PnL messages are built only then)."""
        return bool(self._queues)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call `subscriber(kind, data)` for every message; it must return at once."""
        self._subscribers.append(subscriber)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send one message to every subscriber and listener."""
        for subscriber in self._subscribers:
            subscriber(kind, data)
        if not self._queues:
            return
        message = {"type": kind, "data": data}
        for queue in list(self._queues):
            if queue.full():
                self._queues.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(DROPPED)
            else:
                queue.put_nowait(message)

    def alert(
        self, kind: str, severity: Severity, message: str, *, account_id: str | None = None,
        **details: Any,
    ) -> None:  # fmt: skip
        """Publish an alert: a message a human should hear about (see the module doc)."""
        data = {"severity": severity, "message": message, "account_id": account_id, **details}
        self.publish(kind, data)

    @contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Message]]:
        """A queue that receives every message published while the context is open."""
        queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
