"""Per-connection time limits uvicorn lacks: headers must arrive, replies must be read.

uvicorn closes a keep-alive connection that stays idle after a response, but a connection
that never sends a request, or sends its headers a byte at a time, stays open for ever;
enough of them would use up the daemon's file descriptors. Here every request's headers
must be complete within `header_timeout` seconds of the first byte (or of the connection
opening); the body has its own limit in the guard middleware.

A client that stops reading (an event stream nobody drains) fills the socket, then the
transport's buffer up to its high-water mark, and the writer waits. If the buffer cannot
drain for `write_timeout` seconds the connection is aborted, which also discards what was
buffered for it: a stuck client costs a bounded buffer for a bounded time.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from loguru import logger
from uvicorn.protocols.http.h11_impl import H11Protocol

SEND_BUFFER_BYTES = 256 * 1024  # room for a burst of events; a reading client drains it at once


class TimedH11Protocol(H11Protocol):
    header_timeout = 10.0
    write_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A fixed kernel send buffer: without it Linux grows it to megabytes for a client
            # that never reads, and the stall would take that long to show.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._writing_resumed()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.write_timeout, self._write_stalled)

    def resume_writing(self) -> None:
        self._writing_resumed()
        super().resume_writing()

    def _writing_resumed(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _write_stalled(self) -> None:
        self._write_timer = None
        logger.warning("Dropped a client that stopped reading (its buffer stayed full)")
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close with a reset, discarding what the kernel still holds for it
            # (a plain close would keep that queued until the client reads).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

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


def timed_protocol(timeout: float) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's `http` setting: headers must arrive, and a full
    buffer must drain, within `timeout` seconds."""
    limits = {"header_timeout": timeout, "write_timeout": timeout}
    return type("TimedH11Protocol", (TimedH11Protocol,), limits)
