"""A loopback HTTP receiver for notification tests: records every request, answers from a
script (status, body, headers, delay), or never answers at all."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    raw: bytes
    at: float
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class Receiver:
    """Start with `with Receiver() as r:`; `r.url` is its base URL."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.script: deque[Reply] = deque()
        self.requests: list[Recorded] = []  # every request, answered or not
        self.answered = 0  # replies fully written
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    reply = receiver.script.popleft() if receiver.script else receiver.default
                    receiver.requests.append(
                        Recorded(self.path, dict(self.headers), raw, time.monotonic(), reply.status)
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                body = json.dumps(reply.body or {}).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    return  # the sender gave up (timeout, or the daemon stopped)
                with receiver._lock:
                    receiver.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> list[Recorded]:
        """Requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, predicate: Any, timeout: float = 15.0, what: str = "") -> list[Recorded]:
        """Poll until predicate(delivered requests) holds; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered()
            if predicate(got):
                return got
            time.sleep(0.02)
        raise AssertionError(f"receiver never saw {what}: {[r.raw[:200] for r in self.requests]}")
