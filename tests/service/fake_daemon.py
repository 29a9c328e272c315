"""A stand-in daemon for control tests: the same PID/URL file contract as the real one.

Usage: python fake_daemon.py HOME [exit-now CODE]
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/api/v1/health"
        body = json.dumps({"status": "success", "data": {"status": "healthy"}}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    home = Path(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == "exit-now":
        print("config invalid", flush=True)
        sys.exit(int(sys.argv[3]))
    state = home / "state"
    state.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    (state / "daemon.pid").write_text(str(os.getpid()))
    (state / "daemon.url").write_text(f"http://127.0.0.1:{server.server_address[1]}")
    stopping.wait()
    (state / "daemon.url").unlink()
    (state / "daemon.pid").unlink()
    server.shutdown()


if __name__ == "__main__":
    main()
