"""Breach → close request with notifications off, and with a receiver that never answers.

The receiver is a loopback socket that is listened on but never accepted: connections open,
requests go out, and no answer ever comes, so every delivery waits for its timeout.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Harness
from benchmarks.latency import breach_latency
from risk_manager.notify.notifier import Notifier
from risk_manager.notify.settings import ChannelConfig, NotificationsConfig
from risk_manager.state.notifications import NotificationOutbox


def _attach(url: str, notifiers: list[Notifier]) -> Any:
    def attach(harness: Harness) -> None:
        secrets = Path(tempfile.mkdtemp(prefix="rm-bench-secrets-"))
        (secrets / "hook").write_text(url)
        settings = NotificationsConfig(
            channels={"hook": ChannelConfig(kind="webhook", secret="hook", min_severity="info")}
        )
        names = {account_id: account_id for account_id in harness.config.accounts}
        notifier = Notifier(settings, secrets, NotificationOutbox(harness.store), names,
                            harness.pipeline.calendar.tz, harness.engine.clock.now)  # fmt: skip
        harness.pipeline.bus.subscribe(notifier.on_bus)
        notifier.start()
        notifiers.append(notifier)

    return attach


async def unanswered_receiver(breaches: int, rounds: int = 6) -> dict[str, Any]:
    """p50 / p99 of both setups, alternated `rounds` times (so drifting machine load hits
    both alike), and the change of the medians."""
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "never_answers": []}
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1024)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        for _ in range(rounds):
            runs["off"].append(await breach_latency(breaches))
            notifiers: list[Notifier] = []
            runs["never_answers"].append(await breach_latency(breaches, _attach(url, notifiers)))
            for notifier in notifiers:
                await notifier.close()
    p50 = {
        name: round(statistics.median(r["p50_ms"] for r in found), 3)
        for name, found in runs.items()
    }
    return {
        "breaches_per_run": breaches,
        "p50_ms": p50,
        "p99_ms": {name: [r["p99_ms"] for r in found] for name, found in runs.items()},
        "p50_change_percent": round((p50["never_answers"] / p50["off"] - 1) * 100, 1),
    }
