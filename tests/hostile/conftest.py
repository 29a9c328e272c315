"""Helpers for the attack tests: raw sockets (for requests no HTTP client would send)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.daemon_process import DaemonProcess


def connect(target: DaemonProcess, timeout: float = 30.0, receive_buffer: int = 0) -> socket.socket:
    """A raw TCP connection to the daemon's API (with a small receive window if asked)."""
    url = urlsplit(target.url)
    assert url.hostname is not None
    assert url.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # before connecting: the window is agreed in the handshake
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect((url.hostname, url.port))
    return sock


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes `sock` (sending nothing) before `deadline` (monotonic)."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


# The admin fixtures (a daemon with an admin password) serve these tests too.
from tests.api.conftest import daemon, start_admin  # noqa: E402, F401
