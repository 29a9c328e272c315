"""Event-loop watchdog: a thread that exits the process when the loop stops beating; sd_notify."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

from loguru import logger

from risk_manager.exit_codes import EXIT_WATCHDOG as EX_SOFTWARE
from risk_manager.service import winevent


def sd_notify(message: str) -> bool:
    """Send one sd_notify datagram (e.g. "READY=1") to $NOTIFY_SOCKET; False when not sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not hasattr(socket, "AF_UNIX"):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    elif not address.startswith("/"):
        return False  # e.g. vsock: addresses, which this daemon never runs behind
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode("utf-8"), address)
    except OSError:
        return False
    return True


def _systemd_watchdog_seconds() -> float | None:
    """systemd's WatchdogSec when it is meant for this process, else None."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or not os.environ.get("NOTIFY_SOCKET"):
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000


class LoopWatchdog:
    """Exit with `exit_code` when the asyncio loop has not run `beat()` for `stall_seconds`."""

    def __init__(self, stall_seconds: float, *, exit_code: int = EX_SOFTWARE) -> None:
        if stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")
        self.stall_seconds = stall_seconds
        self.exit_code = exit_code
        self._last_beat = time.monotonic()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def beat_interval(self) -> float:
        """How often beat() runs: 4 beats per stall window, and 2 per systemd watchdog period."""
        interval = self.stall_seconds / 4
        systemd = _systemd_watchdog_seconds()
        return min(interval, systemd / 2) if systemd else interval

    def start(self) -> None:
        """Start the checking thread (a daemon thread: it never keeps the process alive)."""
        if self._thread is not None:
            return
        self._last_beat = time.monotonic()
        self._stopped.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking; call it before a graceful shutdown that may block the loop."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    async def beat(self) -> None:
        """Run as a task in the daemon's loop: stamp the heartbeat and feed systemd's watchdog."""
        feed_systemd = _systemd_watchdog_seconds() is not None
        while not self._stopped.is_set():
            self._last_beat = time.monotonic()
            if feed_systemd:
                sd_notify("WATCHDOG=1")
            await asyncio.sleep(self.beat_interval)

    def _watch(self) -> None:
        check_every = min(self.stall_seconds / 4, 1.0)
        while not self._stopped.wait(check_every):
            stalled = time.monotonic() - self._last_beat
            if stalled > self.stall_seconds:
                self._die(stalled)

    def _die(self, stalled: float) -> None:
        message = (
            f"event loop stalled for {stalled:.1f} s; exiting so the supervisor restarts the daemon"
        )
        logger.critical(message)
        winevent.report_critical(message)
        logger.complete()
        # os._exit: the loop is stuck, so no cleanup that needs it could run anyway, and
        # committed state is already durable (SQLite WAL).
        os._exit(self.exit_code)
