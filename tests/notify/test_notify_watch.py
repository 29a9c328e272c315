"""Conditions no single event announces: a long broker outage and stale quotes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.daemon_process import DaemonProcess
from tests.notify.conftest import notify_config
from tests.notify.receiver import Receiver


def test_outage_past_the_threshold_and_stale_quotes_are_reported_with_their_end(
    start_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    channels = {"hook": ("webhook", f"{receiver.url}/hook")}
    fast = {"settings": "disconnect_alert_seconds = 1", "daemon": "stale_quote_seconds = 1"}
    notify_config(home, "", channels, **fast)
    daemon = start_daemon(home=home)

    def seen(kind: str) -> Callable[[list], bool]:
        return lambda found: any(r.json["kind"] == kind for r in found)

    daemon.price(21000.00)
    daemon.order("buy", 1)  # held, and no quote follows
    receiver.wait_for(seen("stale_quotes"), what="stale quotes")
    daemon.post("/api/v1/sim/connection", {"connected": False})
    receiver.wait_for(seen("broker_disconnected"), what="the outage")
    daemon.post("/api/v1/sim/connection", {"connected": True})
    daemon.price(21001.00)
    got = receiver.wait_for(lambda f: seen("broker_reconnected")(f) and seen("quotes_fresh")(f),
                            what="the recovery")  # fmt: skip

    by_kind = {r.json["kind"]: r.json for r in got}
    assert "No quote for 1 s on held MNQ" in by_kind["stale_quotes"]["text"]
    assert by_kind["stale_quotes"]["severity"] == "warning"
    assert by_kind["broker_disconnected"]["severity"] == "critical"
    assert by_kind["broker_disconnected"]["fields"]["down_seconds"] >= 1
    assert by_kind["broker_reconnected"]["text"].startswith("Broker link back after")
    assert [k for k in (r.json["kind"] for r in got) if k == "broker_disconnected"] == [
        "broker_disconnected"
    ]  # once per outage, not once a second
