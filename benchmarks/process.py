"""Whole-daemon numbers: start-up to ready, graceful stop, memory, idle CPU, API latency."""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from risk_manager.domain.contracts import CONTRACTS


def _config(accounts: int, market: str = "random_walk", interval_ms: int = 1000,
            symbols: tuple[str, ...] = ("MNQ", "ES")) -> str:  # fmt: skip
    lines = [
        "[daemon]\nport = 0\n[daemon.log]\nconsole = false\n",
        f'[broker.simulated]\nmarket = "{market}"\ntick_interval_ms = {interval_ms}\n'
        f"symbols = {list(symbols)!r}\n",
    ]
    lines += [f'[accounts.SIM-{i}]\nname = "Account {i}"\n' for i in range(accounts)]
    return "\n".join(lines).replace("'", '"')


class Daemon:
    """A daemon subprocess on a fresh home."""

    def __init__(self, config: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="rm-bench-home-"))
        (self.home / "config").mkdir()
        (self.home / "config" / "risk_manager.toml").write_text(config)
        self.url = ""

    def start(self) -> float:
        """Seconds from spawn to /health answering."""
        url_file = self.home / "state" / "daemon.url"
        begin = time.perf_counter()
        self.proc = subprocess.Popen(
            # No rules on purpose: the bare daemon's footprint (hence --allow-empty).
            [sys.executable, "-m", "risk_manager", "run", "--home", str(self.home),
             "--allow-empty"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        while not url_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited during start-up")
            time.sleep(0.002)
        self.url = url_file.read_text().strip()
        self.http = httpx.Client(base_url=self.url, timeout=10)
        while True:
            try:
                if self.http.get("/api/v1/health").status_code == 200:
                    return time.perf_counter() - begin
            except httpx.TransportError:
                time.sleep(0.002)

    def stop(self) -> tuple[float, int]:
        """Seconds from SIGTERM to exit, and the exit code."""
        self.http.close()
        begin = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        return time.perf_counter() - begin, code

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)


def lifecycle(runs: int = 3) -> dict[str, Any]:
    """Median start-up and stop times over a few runs (fresh home each)."""
    starts, stops, codes = [], [], []
    for _ in range(runs):
        daemon = Daemon(_config(1))
        starts.append(daemon.start())
        stop_s, code = daemon.stop()
        stops.append(stop_s)
        codes.append(code)
    return {
        "startup_to_ready_s": round(statistics.median(starts), 3),
        "graceful_stop_s": round(statistics.median(stops), 3),
        "exit_codes": codes,
        "runs": runs,
    }


def memory_and_idle_cpu(idle_seconds: float) -> dict[str, Any]:
    """RSS with 1 and 10 accounts (each holding a position); CPU while idle."""
    result: dict[str, Any] = {}
    for accounts in (1, 10):
        daemon = Daemon(_config(accounts))
        daemon.start()
        for i in range(accounts):
            daemon.http.post(f"/api/v1/sim/accounts/SIM-{i}/orders",
                             json={"symbol": "MNQ", "side": "buy", "quantity": 1})  # fmt: skip
        time.sleep(1.0)
        result[f"rss_mb_{accounts}_accounts"] = round(daemon.process.memory_info().rss / 2**20, 1)
        if accounts == 1:
            process = daemon.process
            before = process.cpu_times()
            time.sleep(idle_seconds)
            after = process.cpu_times()
            used = (after.user - before.user) + (after.system - before.system)
            result["idle_cpu_percent"] = round(100 * used / idle_seconds, 3)
            result["idle_seconds"] = idle_seconds
        daemon.stop()
    return result


def status_under_load(target_rate: int = 2000, requests: int = 1000) -> dict[str, Any]:
    """p50/p99 of GET /status while the simulator streams ~target_rate quotes/s into positions."""
    symbols = tuple(sorted(CONTRACTS))
    # One quote per symbol per step; step a little faster than the target to cover timer lag.
    interval_ms = max(1, int(1000 * len(symbols) / target_rate / 1.2))
    daemon = Daemon(_config(1, "random_walk", interval_ms, symbols))
    daemon.start()
    for symbol in symbols:  # hold every symbol so each quote revalues a position
        daemon.http.post("/api/v1/sim/accounts/SIM-0/orders",
                         json={"symbol": symbol, "side": "buy", "quantity": 1})  # fmt: skip
    time.sleep(1.0)
    start_quotes = daemon.http.get("/api/v1/status").json()["data"]["events"]["quotes"]
    begin = time.perf_counter()
    latencies = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = daemon.http.get("/api/v1/status")
        latencies.append((time.perf_counter() - t0) * 1e3)
        assert response.status_code == 200
    elapsed = time.perf_counter() - begin
    end_quotes = daemon.http.get("/api/v1/status").json()["data"]["events"]["quotes"]
    daemon.stop()
    latencies.sort()
    return {
        "ingest_events_per_second": round((end_quotes - start_quotes) / elapsed),
        "status_p50_ms": round(statistics.median(latencies), 3),
        "status_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "requests": requests,
    }
