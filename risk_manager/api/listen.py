"""The API's listening socket, bound by the daemon itself, and the uvicorn server on it."""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from risk_manager.api.connections import timed_protocol
from risk_manager.config.models import DaemonConfig
from risk_manager.exit_codes import StartupError


def bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking TCP socket; StartupError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY on accepted sockets only when the
    # protocol says TCP, and without it keep-alive responses stall ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if sys.platform == "win32":
        # Windows' SO_REUSEADDR would let another process steal the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_host(sock: socket.socket) -> str:
    """The bound host as a URL writes it (IPv6 in brackets)."""
    host = sock.getsockname()[0]
    return f"[{host}]" if ":" in host else host


class ApiServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon handles SIGINT/SIGTERM/SIGBREAK itself and stops uvicorn in order.
        yield


def api_server(app: Any, settings: DaemonConfig) -> ApiServer:
    """uvicorn for the daemon's app: no logging or signals of its own, per-connection limits."""
    return ApiServer(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=2,
            http=timed_protocol(settings.request_timeout_seconds),
            timeout_keep_alive=max(1, round(settings.idle_timeout_seconds)),
        )
    )
