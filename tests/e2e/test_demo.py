"""The demo as a new user runs it: every step checked by the demo itself, then cleaned up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_shows_enforcement_through_the_trader_cli_and_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISK_MANAGER_")}
    env |= {"TMPDIR": str(tmp_path), "COLUMNS": "120"}

    done = subprocess.run(
        [sys.executable, "-m", "risk_manager", "demo"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert [int(n) for n in re.findall(r"\[(\d)/6\]", out)] == [1, 2, 3, 4, 5, 6]
    assert "-$60.00" in out  # the losing open position, before the daemon closed it
    assert "the daemon closed the position" in out
    assert "until the daily reset" in " ".join(out.split())
    assert re.search(r"17:00 C[SD]?T \w{3}", out)  # the end time in the trading-day zone
    assert re.search(r"\d+h \d\dm \d\ds", out)  # the countdown
    assert "fill during lockout" in out
    assert "HALTED" in out
    assert "Demo finished" in out
    assert re.search(r"\(home \S+risk-manager-demo-\S+\)\n", out)  # one line, even in a pipe
    assert "--keep" in out
    assert list(tmp_path.glob("risk-manager-demo-*")) == []  # the temporary home is gone
