"""ProjectX enforcement latency: a fill pushed by the fake Gateway → its closeContract received.

The real daemon runs as a subprocess with `broker.kind = "projectx"` against the fake Gateway of
the test tree on loopback. A losing trade sets a daily-loss lockout; from then on every entry is
a breach the daemon must flatten. Each latency runs from the moment the fake pushes the entry's
GatewayUserTrade to the moment it receives the daemon's Position/closeContract.

`python -m benchmarks.projectx [--breaches N]` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.projectx.daemon_config import write_home
from tests.projectx.fake_gateway.exchange import ASK, BID
from tests.projectx.fake_gateway.server import FakeGateway

ACCOUNT, CONTRACT = 4011, "CON.F.US.MNQ.Z25"
ACCOUNT_PATH = "/api/v1/accounts/PX-1"


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the daemon did not react in time")
        time.sleep(0.001)


def fill_to_close(breaches: int) -> dict[str, Any]:
    """Latency percentiles (ms) over `breaches` lockout flattens."""
    # Hundreds of breaches a minute are far beyond the Gateway's 200 requests / 60 s: both
    # sides lift the limit, so what is measured is the reaction, not the rate budget.
    with FakeGateway(rate_limit=(100_000, 60.0), ping_interval=1.0) as gateway:
        gateway.add_account(ACCOUNT, "PRAC-V2-4011")
        gateway.set_price(CONTRACT, "21000")
        home = write_home(Path(tempfile.mkdtemp(prefix="rm-bench-px-")) / "home", gateway,
                          "daily_realized_loss.limit = 1", level="INFO",
                          extra="rate_limit = 100000")  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url_file = home / "state" / "daemon.url"
            _wait(lambda: url_file.exists() and gateway.subscribers("user") == 1)
            url = url_file.read_text().strip()
            with httpx.Client(base_url=url, timeout=10) as http:
                # One losing round trip: the lockout that turns every later entry into a breach.
                gateway.buy(ACCOUNT, CONTRACT, 1)
                _wait(lambda: gateway.position(ACCOUNT, CONTRACT) == 1)
                gateway.set_price(CONTRACT, "20999")
                gateway.trade(ACCOUNT, CONTRACT, ASK, 1)
                _wait(lambda: http.get(f"{ACCOUNT_PATH}/lockouts").json()["data"]["lockouts"])
                # Entries fill at once: a market order still working when the daemon sees it
                # during the lockout would be cancelled instead (no fill, nothing to measure).
                gateway.set(fill_delay=0.0)
                for count in range(1, breaches + 1):
                    gateway.buy(ACCOUNT, CONTRACT, 1)
                    _wait(lambda c=count: len(gateway.requests("Position/closeContract")) >= c)
                    _wait(lambda: gateway.position(ACCOUNT, CONTRACT) == 0)
        finally:
            proc.terminate()
            proc.wait(30)
        entries = [t for t, trade in gateway.call(lambda: list(gateway.state.trade_pushes))
                   if trade["side"] == BID][1:]  # fmt: skip
        closes = [t for _, _, t in gateway.requests("Position/closeContract")]
    latencies = sorted((close - entry) * 1000 for entry, close in zip(entries, closes, strict=True))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"breaches": len(latencies), "p50_ms": round(cuts[49], 2),
            "p99_ms": round(cuts[98], 2), "max_ms": round(latencies[-1], 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.projectx", description=__doc__)
    parser.add_argument("--breaches", type=int, default=300)
    args = parser.parse_args(argv)
    print(json.dumps({"projectx_fill_to_close": fill_to_close(args.breaches)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
