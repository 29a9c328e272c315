"""API reads while accounts trade: every handler runs on the loop that owns the state, so none
can see a dict change size under it (which was an HTTP 500 when handlers ran in threads).

The first test makes that certain: no route of the daemon, and no dependency of one, is a plain
function (FastAPI would run it in a worker thread). The second hammers every read route of a
running daemon, the event stream and the admin reads included, while the simulator's market
ticks every 5 ms and three accounts trade, breach limits and are enforced; it counts 5xx.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import risk_manager
from risk_manager.auth.passwords import MIN_ITERATIONS, hash_password, save_secret
from tests import scram_client
from tests.daemon_process import DaemonProcess

ACCOUNTS = ("SIM-1", "SIM-2", "SIM-3")
SYMBOLS = ("MNQ", "ES", "NQ", "CL", "GC")
PASSWORD = "Correct-Horse-42"
CONFIG = """
[daemon]
port = 0
[broker]
kind = "simulated"
[broker.simulated]
market = "random_walk"
tick_interval_ms = 5
symbols = ["MNQ", "ES", "NQ", "CL", "GC"]
test_controls = true
{accounts}
[profiles.test]
max_contracts.limit = 6
max_contracts_per_instrument.limits = {{ GC = 2 }}
daily_realized_loss.limit = 300
trade_frequency_limit.per_minute = 40
"""


def _routers() -> list[tuple[str, APIRouter]]:
    """Every APIRouter defined in the package (a new router is checked without listing it)."""
    found = []
    for module in pkgutil.walk_packages(risk_manager.__path__, "risk_manager."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if isinstance(value, APIRouter):
                found.append((f"{module.name}.{name}", value))
    return found


def _calls(dependant: Dependant) -> list[Callable[..., Any]]:
    calls = [dependant.call] if dependant.call is not None else []
    for sub in dependant.dependencies:
        calls += _calls(sub)
    return calls


def _on_the_loop(call: Callable[..., Any]) -> bool:
    # A dependency may be an object with an async __call__ (FastAPI's security schemes).
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_every_route_and_dependency_runs_on_the_event_loop() -> None:
    routes = [(name, route) for name, router in _routers() for route in router.routes
              if isinstance(route, APIRoute)]  # fmt: skip
    in_threads = sorted(
        f"{sorted(route.methods)} {route.path}: {getattr(call, '__qualname__', call)!r} ({name})"
        for name, route in routes
        for call in _calls(route.dependant)
        if not _on_the_loop(call)
    )

    assert len(routes) > 20  # the walk found the daemon's routers
    assert in_threads == [], "run in worker threads:\n" + "\n".join(in_threads)


def _config() -> str:
    accounts = "".join(f'[accounts.{a}]\nname = "{a}"\nprofile = "test"\n' for a in ACCOUNTS)
    return CONFIG.format(accounts=accounts)


def _read_paths(daemon: DaemonProcess) -> list[str]:
    """Every GET route the daemon documents, once per account where it takes one."""
    paths = []
    assert daemon.client is not None
    for path, item in daemon.client.get("/openapi.json").json()["paths"].items():
        if "get" not in item or path == "/api/v1/events":
            continue
        paths += [path.replace("{account_id}", a) for a in ACCOUNTS] if "{" in path else [path]
    assert all("{" not in path for path in paths), paths
    return paths


def _read_until(url: str, paths: list[str], headers: dict[str, str], stop: threading.Event,
                statuses: Counter[tuple[str, int]]) -> None:  # fmt: skip
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        while not stop.is_set():
            for path in random.sample(paths, len(paths)):
                try:
                    statuses[path, client.get(path).status_code] += 1
                except httpx.TransportError:  # the server dropped the connection: a failure
                    statuses[path, 599] += 1


def _stream_until(url: str, stop: threading.Event, statuses: Counter[tuple[str, int]]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            try:
                with client.stream("GET", "/api/v1/events") as response:
                    statuses["/api/v1/events", response.status_code] += 1
                    for count, _ in enumerate(response.iter_lines()):
                        if stop.is_set() or count > 2000:
                            break
            except httpx.TransportError:
                statuses["/api/v1/events", 599] += 1


def _trade(url: str, account: str, seed: int, statuses: Counter[tuple[str, int]]) -> None:
    """Market and resting orders in every symbol: positions open, grow past the limits (and
    are reduced or closed), losses lock the account out, orders pile up and are cancelled."""
    rng = random.Random(seed)
    path = f"/api/v1/sim/accounts/{account}/orders"
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(100):
            body: dict[str, Any] = {"symbol": rng.choice(SYMBOLS), "quantity": rng.randint(1, 3),
                                    "side": rng.choice(("buy", "sell"))}  # fmt: skip
            if rng.random() < 0.3:
                limit = 1000 if body["side"] == "buy" else 90000
                body |= {"type": "limit", "limit_price": limit}
            statuses["orders", client.post(path, json=body).status_code] += 1


def test_reads_during_hard_trading_on_three_accounts_never_fail(
    start_daemon: Callable[..., DaemonProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon's threads switch every 10 microseconds instead of every 5 ms: a handler that
    # walked loop-owned state from a worker thread would be caught mid-walk, not once a week.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.setswitchinterval(1e-5)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    save_secret(tmp_path / "home" / "secrets" / "admin.json",
                hash_password(PASSWORD, iterations=MIN_ITERATIONS))  # fmt: skip
    daemon = start_daemon(text=_config())
    token = scram_client.login(daemon.post, PASSWORD)["token"]
    paths = _read_paths(daemon)
    reads: Counter[tuple[str, int]] = Counter()
    trades: Counter[tuple[str, int]] = Counter()
    stop = threading.Event()
    admin = {"Authorization": f"Bearer {token}"}
    threads = [threading.Thread(target=_read_until, args=(daemon.url, paths, admin, stop, reads))
               for _ in range(4)]  # fmt: skip
    threads += [threading.Thread(target=_stream_until, args=(daemon.url, stop, reads))]
    traders = [threading.Thread(target=_trade, args=(daemon.url, account, seed, trades))
               for seed, account in enumerate(ACCOUNTS)]  # fmt: skip
    for thread in threads + traders:
        thread.start()
    try:
        for trader in traders:
            trader.join(120)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    failures = {key: n for key, n in (reads + trades).items() if key[1] >= 500}
    print(f"{sum(reads.values())} reads, {sum(trades.values())} orders, 5xx: {failures}")
    assert failures == {}
    assert {path for path, status in reads if status == 200} == {*paths, "/api/v1/events"}
    assert sum(reads.values()) > 10 * len(paths)
    health = daemon.get("/api/v1/health")
    assert health["enforcement_failures"] == 0
    records = daemon.get("/api/v1/enforcement", params={"limit": 100})["records"]
    assert records, "the trading breached no limit: nothing was enforced under the readers"
    assert "Unhandled error" not in daemon.output()
