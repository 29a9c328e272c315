"""`python -m benchmarks [--quick]`: measure and print one JSON document.

Targets (met in this benchmark, never asserted by timed tests): ready < 2 s, stop < 2 s,
RSS < 120 MB with 10 accounts, idle CPU < 0.5 %, ≥ 50,000 quotes/s and ≥ 5,000 durable
fills/s on the bare state path; with all 14 rules ≥ 20,000 quotes/s and ≥ 3,000 fills/s on one
account and ≥ 10,000 events/s over 20 accounts; breach → first action p99 < 2 ms, within
10 % when a notification receiver never answers;
GET /status p99 < 10 ms while ingesting 2,000 events/s. ProjectX: a fill pushed by the fake
Gateway → its closeContract, p50 / p99 over 300 breaches (`python -m benchmarks.projectx`).
Replay: a recorded 23-hour day through a real daemon, every rule tick included
(`python -m benchmarks.replay`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from typing import Any

from benchmarks import hostile_load, latency, notify, process, projectx, replay, throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    began = time.perf_counter()
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "quick": args.quick,
    }

    def section(name: str, value: Any) -> None:
        report[name] = value
        print(f"measured {name}", file=sys.stderr)

    section("daemon_lifecycle", process.lifecycle(1 if args.quick else 3))
    section("memory_and_idle", process.memory_and_idle_cpu(1.0 if args.quick else 30.0))
    section("state_path", asyncio.run(throughput.state_path(200_000 // scale, 20_000 // scale)))
    section("all_rules_1_account",
            asyncio.run(throughput.all_rules(1, 100_000 // scale, 10_000 // scale)))  # fmt: skip
    section("all_rules_20_accounts",
            asyncio.run(throughput.all_rules(20, 20_000 // scale, 10_000 // scale)))  # fmt: skip
    section("breach_to_first_action", asyncio.run(latency.breach_latency(500 // scale)))
    rounds = 2 if args.quick else 6
    section("breach_with_unanswered_notifications",
            asyncio.run(notify.unanswered_receiver(250 // scale, rounds)))  # fmt: skip
    section("api_under_load", process.status_under_load(2000, 1000 // scale))
    slow_seconds = 2.0 if args.quick else 30.0
    section("api_with_slow_clients", hostile_load.slow_clients(100, 200, slow_seconds))
    section("projectx_fill_to_close", projectx.fill_to_close(300 // scale))
    section("replay", replay.replay_session(23 if scale == 1 else 3))
    report["benchmark_seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
