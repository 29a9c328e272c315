"""`risk-manager demo`: the daemon on the simulator, a scripted trader, and what the API shows.

The daemon runs as a real background process on a temporary home; the trader acts through the
simulator routes (standing in for the broker's platform) and reads state through the REST API.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from risk_manager.service import control

DEMO_CONFIG = """\
[daemon]
port = 0
[daemon.log]
console = false

[broker]
kind = "simulated"
[broker.simulated]
market = "manual"
prices = { MNQ = 21000.00, ES = 6000.00 }

[accounts.DEMO-1]
name = "Demo trader"
profile = "demo"

[profiles.demo.max_contracts]
limit = 3
[profiles.demo.daily_realized_loss]
limit = 100
"""

console = Console()


class Trader:
    """The scripted trader: places orders and moves prices through the simulator routes."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()["data"]

    def price(self, price: float) -> None:
        console.print(f"  market: MNQ trades at [bold]{price:,.2f}[/]")
        self.call("POST", "/api/v1/sim/prices", {"symbol": "MNQ", "price": price})

    def order(self, side: str, quantity: int) -> None:
        console.print(f"  trader: [bold]{side} {quantity} MNQ[/] at market")
        self.call("POST", "/api/v1/sim/accounts/DEMO-1/orders",
                  {"symbol": "MNQ", "side": side, "quantity": quantity})  # fmt: skip


def show_account(trader: Trader, title: str) -> None:
    pnl = trader.call("GET", "/api/v1/accounts/DEMO-1/pnl")
    positions = trader.call("GET", "/api/v1/accounts/DEMO-1/positions")["positions"]
    lockouts = trader.call("GET", "/api/v1/accounts/DEMO-1/lockouts")["lockouts"]
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in ("position", "unrealized", "realized (net)", "fees", "lockouts"):
        table.add_column(column, justify="right")
    held = ", ".join(f"{p['size']:+d} {p['symbol']} @ {p['avg_price']:,.2f}" for p in positions)
    locks = ", ".join(f"{x['rule']} ({x['seconds_remaining'] or 0:,.0f} s left)" for x in lockouts)
    table.add_row(held or "flat", f"{pnl['unrealized']:+,.2f}", f"{pnl['realized']:+,.2f}",
                  f"{pnl['fees']:,.2f}", locks or "none")  # fmt: skip
    console.print(table)


def show_enforcement(trader: Trader, count: int = 3) -> None:
    records = trader.call("GET", f"/api/v1/accounts/DEMO-1/enforcement?limit={count}")["records"]
    for record in reversed(records):
        latency = record["latency_ms"]
        console.print(
            f"  [red]enforced[/] {record['rule']}: {record['reason']} → {record['outcome']}"
            f" ({'pending' if latency is None else f'{latency:.1f} ms'})"
        )


def run_demo(home: Path | None = None) -> int:
    """Run the scripted session; returns 0 when every step behaved as expected."""
    home = home or Path(tempfile.mkdtemp(prefix="risk-manager-demo-"))
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "risk_manager.toml").write_text(DEMO_CONFIG, encoding="utf-8")
    console.rule("[bold]Risk Manager demo")
    console.print(f"Home: {home}\nRules: max 3 contracts; daily realized loss limit $100\n")
    begin = time.perf_counter()
    started = control.start(home)
    console.print(f"Daemon started (PID {started.pid}) at {started.url} "
                  f"in {time.perf_counter() - begin:.2f} s")  # fmt: skip
    trader = Trader(started.url)
    health = trader.call("GET", "/api/v1/health")
    console.print(f"Health: {health['status']}, {health['memory_usage_mb']} MB\n")

    trader.price(21000.00)
    trader.order("buy", 2)
    trader.price(20990.00)
    show_account(trader, "Long 2 MNQ, market 10 points lower: 2 × 10 × $2 = −$40")

    trader.order("buy", 2)
    show_enforcement(trader, 1)
    show_account(trader, "4 contracts breach max_contracts = 3: reduced to the limit")

    trader.price(20970.00)
    trader.order("sell", 3)
    show_enforcement(trader, 1)
    show_account(trader, "Sold at a loss beyond $100: flattened and locked out until the reset")

    trader.order("buy", 1)
    show_enforcement(trader, 1)
    show_account(trader, "A new buy during the lockout is flattened at once")

    console.print("\nStopping the daemon (SIGTERM) and starting it again…")
    stopped = control.stop(home)
    console.print(f"  exit code {stopped.exit_code}")
    trader = Trader(control.start(home).url)
    show_account(trader, "After the restart: the same PnL, the lockout still active")
    control.stop(home)
    console.rule("[bold green]Demo finished")
    return 0
