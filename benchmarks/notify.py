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
from benchmarks.latency import BreachRig, summarize
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
    """p50 / p99 with notifications off and with a receiver that never answers.

    Both rigs live in one event loop and take turns breach by breach (A B B A …), so the
    load of a shared machine, which swings by tens of percent within seconds, hits both alike;
    separate runs compared only that noise. The notifier's own tasks run in the shared loop,
    so a cost they put on the loop would show in both figures; the publish-side cost (compose
    and queue on every bus message) shows only in `never_answers`. `rounds` × `breaches`
    samples per setup; the per-round p50s show the spread.
    """
    names = ("off", "never_answers")
    samples: dict[str, list[float]] = {name: [] for name in names}
    per_round: dict[str, list[float]] = {name: [] for name in names}
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1024)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        notifiers: list[Notifier] = []
        rigs = {"off": await BreachRig.open(), "never_answers": await BreachRig.open(
            _attach(url, notifiers))}  # fmt: skip
        for _ in range(rounds):
            found: dict[str, list[float]] = {name: [] for name in names}
            for turn in range(breaches):
                for name in names if turn % 2 == 0 else reversed(names):
                    ms = await rigs[name].breach()
                    if ms is not None:
                        found[name].append(ms)
            for name in names:
                samples[name] += found[name]
                per_round[name].append(round(statistics.median(found[name]), 3))
        for notifier in notifiers:
            await notifier.close()
        for rig in rigs.values():
            await rig.close()
    stats = {name: summarize(found) for name, found in samples.items()}
    p50 = {name: stats[name]["p50_ms"] for name in names}
    return {
        "breaches_per_setup": stats["off"]["breaches"],
        "p50_ms": p50,
        "p99_ms": {name: stats[name]["p99_ms"] for name in names},
        "p50_per_round_ms": per_round,
        "p50_change_percent": round((p50["never_answers"] / p50["off"] - 1) * 100, 1),
    }
