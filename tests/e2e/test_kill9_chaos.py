"""Random kill -9s of the real daemon while three accounts trade and are enforced.

The traders only ever ADD exposure, with limit orders; the daemon's closing orders are market
orders. So the simulator's own file (the broker's truth) tells every enforcement fill apart,
and each of them must take its position towards zero: one that flips or grows a position is
an action sent twice. After the last restart the daemon's fills are the broker's (none lost,
none invented), the positions agree, every rule holds and no closing order is left unsettled.
"""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon_process import DaemonProcess, write_config
from tests.e2e.conftest import wait_for

KILLS = 10
CONFIG = """
[daemon]
port = 0
[daemon.log]
console = true
level = "INFO"

[broker]
kind = "simulated"
[broker.simulated]
market = "manual"
test_controls = true
prices = { MNQ = 21000.00, ES = 6000.00, NQ = 21000.00, CL = 70.00 }

[accounts.A]
name = "reduce"
profile = "reduce"
[accounts.B]
name = "per instrument"
profile = "instrument"
[accounts.C]
name = "flatten and daily loss"
profile = "flatten"

[profiles.reduce.max_contracts]
limit = 3
[profiles.instrument.max_contracts_per_instrument]
limits = { MNQ = 2, ES = 1 }
default_limit = 3
[profiles.flatten.max_contracts]
limit = 4
close_all = true
[profiles.flatten.daily_realized_loss]
limit = 400
"""
# What each account's trader adds with: (symbol, side).
ADDS = {
    "A": [("MNQ", "buy"), ("ES", "buy"), ("NQ", "sell")],
    "B": [("MNQ", "sell"), ("ES", "buy"), ("NQ", "buy")],
    "C": [("MNQ", "buy"), ("ES", "sell"), ("CL", "buy")],
}
TICK = {"MNQ": 0.25, "ES": 0.25, "NQ": 0.25, "CL": 0.01}


class Market:
    """The traders and the price feed, in threads, following the daemon across restarts."""

    def __init__(self, seed: int) -> None:
        self.url = ""
        self.prices = {"MNQ": 21000.0, "ES": 6000.0, "NQ": 21000.0, "CL": 70.0}
        self.stop = threading.Event()
        self.server_errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._trade, args=(account, random.Random(seed + n)))
            for n, account in enumerate(ADDS)
        ]
        self.threads.append(threading.Thread(target=self._move, args=(random.Random(seed),)))

    def __enter__(self) -> Market:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)

    def _post(self, client: httpx.Client, path: str, body: dict[str, Any]) -> None:
        try:
            response = client.post(self.url + path, json=body)
        except httpx.HTTPError:  # killed mid-request, or restarting
            self.stop.wait(0.02)
            return
        if response.status_code >= 500:
            self.server_errors.append(f"{path}: {response.status_code} {response.text}")

    def _trade(self, account: str, rng: random.Random) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                symbol, side = rng.choice(ADDS[account])
                offset = 50 * TICK[symbol] * (1 if side == "buy" else -1)
                limit = round(self.prices[symbol] + offset, 2)  # marketable
                body = {"symbol": symbol, "side": side, "quantity": rng.randint(1, 3),
                        "type": "limit", "limit_price": limit}  # fmt: skip
                self._post(client, f"/api/v1/sim/accounts/{account}/orders", body)
                self.stop.wait(rng.uniform(0, 0.03))

    def _move(self, rng: random.Random) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                symbol = rng.choice(list(self.prices))
                step = rng.choice((-1, 1)) * rng.randint(1, 40) * TICK[symbol]
                self.prices[symbol] = round(self.prices[symbol] + step, 2)
                self._post(client, "/api/v1/sim/prices",
                           {"symbol": symbol, "price": self.prices[symbol]})  # fmt: skip
                self.stop.wait(rng.uniform(0, 0.02))


def _replay_broker_fills(home: Path) -> tuple[set[str], list[str], dict[tuple[str, str], int]]:
    """The broker's fill ids, the enforcement fills that flipped or grew a position, and the
    positions the broker's fills add up to."""
    path = home / "state" / "simulator.sqlite3"
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        kinds = dict(db.execute("SELECT order_id, type FROM orders"))
        fills = db.execute(
            "SELECT fill_id, account_id, symbol, side, quantity, order_id FROM fills"
            " ORDER BY fill_id"
        ).fetchall()
    held: dict[tuple[str, str], int] = defaultdict(int)
    wrong = []
    for fill_id, account, symbol, side, quantity, order_id in fills:
        before = held[(account, symbol)]
        held[(account, symbol)] = after = before + side * quantity
        if kinds[int(order_id)] == "market" and (before * after < 0 or abs(after) > abs(before)):
            wrong.append(f"fill {fill_id}: {account} {symbol} {before:+d} -> {after:+d}")
    return {f"fill:{row[0]}" for row in fills}, wrong, held


def _daemon_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    path = home / "state" / "risk_manager.sqlite3"
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


@pytest.mark.timeout(300)
def test_random_kill9s_while_three_accounts_trade_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    write_config(home, text=CONFIG)
    rng = random.Random(12)
    daemon = DaemonProcess(home).start()
    try:
        with Market(seed=12) as market:
            for _ in range(KILLS):
                market.url = daemon.url
                market.stop.wait(rng.uniform(0.2, 1.2))
                daemon.kill9()
                daemon = DaemonProcess(home).start()
            market.url = daemon.url
        assert market.server_errors == []

        def settled() -> bool:
            pending = _daemon_rows(
                home, "SELECT COUNT(*) FROM enforcement WHERE status = 'pending'"
            )
            return pending[0][0] == 0 and not _daemon_rows(home, "SELECT id FROM closing_sends")

        wait_for(settled, timeout=30.0, what="every batch done and every close settled")
        fills, wrong, held = _replay_broker_fills(home)
        ours = {row[0] for row in _daemon_rows(home, "SELECT event_id FROM fills")}
        assert len(fills) > 100  # the kills came during heavy trading
        assert fills - ours == set(), "fills the daemon lost"
        assert ours - fills == set(), "fills the broker never made"
        assert wrong == [], "enforcement that flipped or grew a position: sent twice"
        for account in ADDS:
            view = daemon.get(f"/api/v1/accounts/{account}/positions")["positions"]
            mine = {p["symbol"]: p["size"] for p in view}
            assert mine == {s: n for (a, s), n in held.items() if a == account and n}, account
            gross = sum(abs(n) for n in mine.values())
            if account == "A":
                assert gross <= 3, mine
            elif account == "B":
                assert all(abs(n) <= {"MNQ": 2, "ES": 1}.get(s, 3) for s, n in mine.items())
            else:
                assert gross <= 4, mine
        failed = _daemon_rows(home, "SELECT id FROM enforcement WHERE status != 'done'")
        assert failed == []
        # A close a run journaled is settled by the next one or two, never carried from run
        # to run (each run here lives shorter than the wait for an order to show).
        carried = Counter(re.findall(r"sent by the previous run at (\S+ \S+): ", daemon.output()))
        assert max(carried.values(), default=0) <= 3, carried
        assert daemon.stop() == 0
    finally:
        daemon.ensure_stopped()
