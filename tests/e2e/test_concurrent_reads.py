"""API reads while the account trades: every read handler runs on the loop that owns the state,
so none can see a dict change size under it (which was an HTTP 500)."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from tests.daemon_process import DaemonProcess

READS = [
    "/api/v1/status", "/api/v1/accounts", "/api/v1/health", "/api/v1/rules",
    "/api/v1/accounts/SIM-1/positions", "/api/v1/accounts/SIM-1/pnl",
    "/api/v1/accounts/SIM-1/lockouts", "/api/v1/accounts/SIM-1/enforcement",
]  # fmt: skip
SYMBOLS = ("MNQ", "ES", "NQ", "CL")


def _read_until(url: str, stop: threading.Event, statuses: Counter[int]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            for path in READS:
                try:
                    statuses[client.get(path).status_code] += 1
                except httpx.TransportError:  # the server dropped the connection: a failure too
                    statuses[599] += 1


def test_reads_during_trading_never_fail(start_daemon) -> None:
    daemon: DaemonProcess = start_daemon()
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    readers = [
        threading.Thread(target=_read_until, args=(daemon.url, stop, statuses)) for _ in range(4)
    ]
    for reader in readers:
        reader.start()
    try:
        # Positions open and close in several symbols and working orders pile up: the
        # account's dicts change size all the time while the readers walk them.
        for round_ in range(40):
            for symbol in SYMBOLS:
                daemon.order("buy", 1 + round_ % 3, symbol=symbol)
                for _ in range(3):
                    daemon.order("sell", 1, symbol=symbol, type="limit", limit_price=90000)
            for symbol in SYMBOLS:
                daemon.order("sell", 1 + round_ % 3, symbol=symbol)
    finally:
        stop.set()
        for reader in readers:
            reader.join(60)

    assert sum(statuses.values()) > 100
    assert {code for code in statuses if code >= 500} == set(), statuses
