"""Loss warnings: each configured level once per trading day, also across a restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.daemon_process import DaemonProcess
from tests.notify.conftest import notify_config
from tests.notify.receiver import Receiver


def warnings(receiver: Receiver) -> list[dict]:
    return [r.json for r in receiver.delivered() if r.json["kind"] == "loss_warning"]


def test_each_level_warns_once_per_day_even_after_a_restart(
    start_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    notify_config(home, "daily_realized_loss.limit = 100",
                  {"hook": ("webhook", f"{receiver.url}/hook")},
                  settings="warn_at_percent = [50, 80]")  # fmt: skip
    daemon = start_daemon(home=home)
    daemon.price(21000.00)
    daemon.order("buy", 2)
    daemon.price(20985.00)
    daemon.order("sell", 2)  # -$61.48: past 50 %
    receiver.wait_for(lambda _: len(warnings(receiver)) == 1, what="the 50 % warning")
    daemon.order("buy", 1)
    daemon.order("sell", 1)  # fees only: still past 50 %, not yet 80 %
    daemon.price(21000.00)
    daemon.order("buy", 1)
    daemon.price(20990.00)
    daemon.order("sell", 1)  # -$82.96: past 80 %
    receiver.wait_for(lambda _: len(warnings(receiver)) == 2, what="the 80 % warning")
    daemon.kill9()
    start_daemon(home=home)
    receiver.wait_for(lambda found: any(r.json["kind"] == "crash_recovered" for r in found),
                      what="the restart")  # fmt: skip
    time.sleep(2.5)  # two passes of the once-a-second watch over the same losses

    sent = warnings(receiver)
    assert [w["fields"]["level_percent"] for w in sent] == [50, 80]
    assert "Daily realized loss -$61.48 is 61 % of the -$100.00 limit" in sent[0]["text"]
    assert "Daily realized loss -$82.96 is 83 % of the -$100.00 limit" in sent[1]["text"]
