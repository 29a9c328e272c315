"""`risk-manager demo`: one minute that shows a trader what the daemon does for them.

A real daemon runs in the background on a temporary home (port 0: the CLIs find it through the
home's state/daemon.url). A scripted trader trades MNQ through the simulator routes, which stand
in for the broker's platform; everything shown is what `risk-trader` prints, as a trader sees it.
Each step checks that the daemon behaved as announced; the exit code is 0 only when all did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from risk_manager.service import control
from risk_manager.service.errors import NotRunningError

DEMO_CONFIG = """\
[daemon]
port = 0
[daemon.log]
console = false

[broker]
kind = "simulated"
[broker.simulated]
market = "manual"
prices = { MNQ = 21000.00 }
fees = { MNQ = 0.37 }

[accounts.DEMO-1]
name = "Demo trader"
profile = "demo"

# An open position may not lose more than $100: the daemon closes it.
[profiles.demo.daily_unrealized_loss]
limit = 100
# Once the day's realized loss reaches $150: flattened and locked out until the daily reset.
[profiles.demo.daily_realized_loss]
limit = 150
"""
STEPS = 6
ACCOUNT = "/api/v1/accounts/DEMO-1"
# In a pipe or a file each line stays whole (rich would wrap it at 80 columns).
console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())


class DemoFailed(Exception):
    """The daemon did not do what the demo announced."""


class Trader:
    """The scripted trader: orders and prices through the simulator routes, reads over REST."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10, trust_env=False)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()["data"]

    def price(self, price: float) -> None:
        console.print(f"  market: MNQ trades at [bold]{price:,.2f}[/]")
        self.call("POST", "/api/v1/sim/prices", {"symbol": "MNQ", "price": price})

    def order(self, side: str, quantity: int) -> None:
        console.print(f"  trader: [bold]{side} {quantity} MNQ[/] at market")
        body = {"symbol": "MNQ", "side": side, "quantity": quantity}
        self.call("POST", "/api/v1/sim/accounts/DEMO-1/orders", body)

    def position(self) -> int:
        positions = self.call("GET", f"{ACCOUNT}/positions")["positions"]
        return sum(p["size"] for p in positions)

    def lockouts(self) -> list[dict[str, Any]]:
        return list(self.call("GET", f"{ACCOUNT}/lockouts")["lockouts"])

    def realized(self) -> float:
        return float(self.call("GET", f"{ACCOUNT}/pnl")["realized"])

    def settle(self, check: Any, what: str) -> None:
        """Wait (briefly) until the daemon's enforcement shows; fail the demo otherwise."""
        deadline = time.monotonic() + 10.0
        while not check():
            if time.monotonic() > deadline:
                raise DemoFailed(what)
            time.sleep(0.05)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)


class Demo:
    """The script: progress lines, the trader's actions, and `risk-trader` screens."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "RISK_MANAGER_HOME": str(home)}
        self.env.pop("RISK_MANAGER_URL", None)
        self.step_no = 0

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.step_no += 1
        console.print(f"\n[bold cyan][{self.step_no}/{STEPS}][/] [bold]{title}[/]")
        begin = time.perf_counter()
        yield
        console.print(f"  [green]✓[/] [dim]{time.perf_counter() - begin:.1f} s[/]")

    def trader_cli(self, *args: str) -> None:
        """Run risk-trader as the trader would (it finds the daemon through the home)."""
        console.print(f"  [dim]$ risk-trader {' '.join(args)}[/]")
        subprocess.run(
            [sys.executable, "-m", "cli.trader", *args], env=self.env, check=True, timeout=60
        )

    def run(self) -> None:
        with self.step("Start the daemon on the simulated broker"):
            started = control.start(self.home)
            console.print(f"  daemon PID {started.pid} at {started.url} (home {self.home})")
            console.print("  rules: an open position may lose at most $100; "
                          "the day may lose at most $150 (then no more trading today)")  # fmt: skip
            trader = Trader(started.url)

        with self.step("A losing open position is closed by the daemon"):
            trader.price(21000.00)
            trader.order("buy", 2)
            trader.price(20985.00)
            self.trader_cli("positions")
            trader.price(20975.00)  # 2 x 25 points x $2 = -$100: the limit
            trader.settle(lambda: trader.position() == 0, "the losing position was not closed")
            console.print("  [red]→ the daemon closed the position[/] (its open loss reached $100)")
            self.trader_cli("log", "--limit", "1")

        with self.step("The day's loss limit: flattened and locked out until the daily reset"):
            trader.order("buy", 1)
            trader.price(20950.00)
            trader.order("sell", 1)  # realized: -$100 - $25 x 2 - fees, past -$150
            trader.settle(lambda: bool(trader.lockouts()), "no lockout after the day's loss")
            self.trader_cli("lockouts")

        with self.step("A fill during the lockout is closed at once"):
            trader.order("buy", 1)
            trader.settle(lambda: trader.position() == 0, "the fill during the lockout stayed")
            self.trader_cli("log", "--limit", "1")

        with self.step("Stop the daemon (SIGTERM) and start it again: nothing is forgotten"):
            realized, lockouts = trader.realized(), trader.lockouts()
            stopped = control.stop(self.home)
            console.print(f"  daemon stopped (exit code {stopped.exit_code})")
            trader = Trader(control.start(self.home).url)
            expect(trader.realized() == realized, "the day's PnL changed across the restart")
            expect([x["id"] for x in trader.lockouts()] == [x["id"] for x in lockouts],
                   "the lockout did not survive the restart")  # fmt: skip
            self.trader_cli("status")

        with self.step("The trader's dashboard (one frame of `risk-trader watch`)"):
            self.trader_cli("watch", "--once")


def _what_next(home: Path, kept: bool) -> None:
    scripts = ".venv\\Scripts\\" if sys.platform == "win32" else ".venv/bin/"
    console.rule("[bold green]Demo finished")
    if kept:
        setter = (
            f'$env:RISK_MANAGER_HOME = "{home}"'
            if sys.platform == "win32"
            else f"export RISK_MANAGER_HOME={home}"
        )
        console.print(f"The daemon is still running; its home is {home}\nExplore it:")
        console.print(f"  {setter}")
        for command in ("risk-trader watch", "risk-trader status", "risk-admin logs"):
            console.print(f"  {scripts}{command}")
        console.print(f"Stop it when done: {scripts}risk-admin stop   (then delete {home})")
    else:
        console.print("The daemon is stopped and its temporary home deleted.")
        again = (
            "powershell -File scripts\\demo.ps1 --keep"
            if sys.platform == "win32"
            else "bash scripts/demo.sh --keep"
        )
        console.print(f"To keep it running and explore: {again}")
    console.print(
        f"Next: {scripts}risk-manager run (your own home, ~/.risk_manager), "
        "docs/cli.md for both CLIs, docs/configuration.md for every rule."
    )


def run_demo(home: Path | None = None, keep: bool = False) -> int:
    """Run the scripted session; 0 when every step behaved as announced."""
    temporary = home is None
    home = home or Path(tempfile.mkdtemp(prefix="risk-manager-demo-"))
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "risk_manager.toml").write_text(DEMO_CONFIG, encoding="utf-8")
    console.rule("[bold]Risk Manager demo")
    code = 0
    try:
        Demo(home).run()
    except (DemoFailed, httpx.HTTPError, subprocess.SubprocessError, OSError) as error:
        console.print(f"[bold red]Demo failed:[/] {error} (logs: {home / 'logs'})")
        keep, code = True, 1  # keep the evidence
    if not keep:
        with contextlib.suppress(NotRunningError):
            control.stop(home)
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    if code == 0:
        _what_next(home, kept=keep)
    return code
