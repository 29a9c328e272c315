"""`python -m benchmarks.replay [--hours H]`: wall time of a recorded session replayed through a
real daemon (the replay broker), every one-second rule tick of it included.

The recording is synthetic and deterministic: an MNQ quote every 5 s and a 2-lot round trip
every 30 min (two lose $80, one wins $80), for H hours (23 by default: a whole Globex day from
Sunday 17:00 Chicago), on one account with a daily loss limit, a loss cooldown and a contract
limit, so the day has a breach and entries flattened during its lockout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.process import Daemon
from risk_manager.domain.events import Event, Fill, Quote, Side
from risk_manager.domain.recording import event_line

PLAYED = re.compile(r"finished: .* played in ([0-9.]+) s")
START = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # Sunday 17:00 in Chicago (CST)

CONFIG = """
[daemon]
port = 0
[daemon.log]
console = false
[broker]
kind = "replay"
[broker.replay]
recording = {recording}
[accounts.REC-1]
profile = "p"
[profiles.p]
daily_realized_loss.limit = 400
cooldown_after_loss.tiers = [{{loss = 50, minutes = 10}}]
max_contracts.limit = 4
"""


def session(hours: int) -> list[Event]:
    """Quotes every 5 s; a round trip every 30 min: two lose 20 points, the third wins 20."""
    events: list[Event] = []
    price = Decimal("21000")
    for step in range(hours * 3600 // 5):
        at = START + timedelta(seconds=5 * step)
        price += Decimal("0.25") * (1 if step % 8 < 4 else -1)  # no drift
        exiting = step % 360 == 181  # 15 min after each entry
        if exiting:  # the market has moved 20 points, for or against the trader
            price += 20 if step // 360 % 3 == 2 else -20
        events.append(Quote("MNQ", at, last=price))
        if step % 360 == 1 or exiting:  # in every 30 min, 5 s past; out 15 min later
            side = Side.SELL if exiting else Side.BUY
            events.append(Fill(f"fill-{step}", "REC-1", at, "MNQ", side, 2, price,
                               Decimal("0.74")))  # fmt: skip
    return events


def replay_session(hours: int) -> dict[str, Any]:
    events = session(hours)
    daemon = Daemon("")
    recording = daemon.home / "session.jsonl"
    recording.write_text("".join(event_line(event) + "\n" for event in events))
    config = CONFIG.format(recording=json.dumps(str(recording)))
    (daemon.home / "config" / "risk_manager.toml").write_text(config)
    daemon.start()
    log = daemon.home / "logs" / "system.log"
    while not (finished := PLAYED.search(_text(log))):
        if daemon.proc.poll() is not None:
            raise RuntimeError("the daemon exited during the replay")
        time.sleep(0.05)
    wall = float(finished.group(1))  # the daemon's own measure, start of replay to its end
    status = daemon.http.get("/api/v1/status").json()["data"]
    records = daemon.http.get("/api/v1/enforcement").json()["data"]["records"]
    daemon.stop()
    recorded = (events[-1].ts - events[0].ts).total_seconds()
    return {
        "recorded_hours": hours,
        "recorded_events": len(events),
        "rule_ticks": int(recorded),
        "wall_s": wall,
        "recorded_seconds_per_wall_second": round(recorded / wall),
        "enforcement_records": len(records),
        "realized": status["accounts"][0]["realized"],
    }


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replay", description=__doc__)
    parser.add_argument("--hours", type=int, default=23)
    args = parser.parse_args(argv)
    print(json.dumps({"replay": replay_session(args.hours)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
