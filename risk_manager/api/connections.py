"""Per-connection time limits uvicorn lacks: a request's headers must arrive in time.

uvicorn closes a keep-alive connection that stays idle after a response, but a connection
that never sends a request, or sends its headers a byte at a time, stays open for ever;
enough of them would use up the daemon's file descriptors. Here every request's headers
must be complete within `header_timeout` seconds of the first byte (or of the connection
opening); the body has its own limit in the guard middleware.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class TimedH11Protocol(H11Protocol):
    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_request():
            self._arm()  # the first bytes of a request: its headers are now on the clock
        super().data_received(data)
        if self._in_request():
            self._disarm()

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _timed_out(self) -> None:
        self._header_timer = None
        if not self._in_request() and not self.transport.is_closing():
            self.transport.close()


def timed_protocol(header_timeout: float) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's `http` setting, with the given header time limit."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"header_timeout": header_timeout})
