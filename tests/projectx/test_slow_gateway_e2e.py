"""The real daemon on a slow, lossy ProjectX Gateway: every close ends at its target, never beyond.

ProjectX's closeContract answers without an order id, its fills come later over the user hub,
and a reply can be lost or throttled after the Gateway acted. The fake Gateway records the
position after every fill, so the tests check the whole path, not only where it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.daemon_process import DaemonProcess
from tests.projectx.conftest import ACCOUNT_ID, MNQ
from tests.projectx.fake_gateway.server import FakeGateway
from tests.projectx.test_daemon_e2e import batches_settled, lockout_rules, losing_trade, start, wait

CLOSE = "Position/closeContract"


def enter(gateway: FakeGateway, size: int, price: str) -> None:
    """The trader's market buy, filled at once by a price move (with any working order)."""
    gateway.buy(ACCOUNT_ID, MNQ, size)
    gateway.set_price(MNQ, price)


def test_an_entry_while_an_idless_close_confirms_is_closed_by_one_more_close(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    losing_trade(gateway)
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the first flatten")
    wait(lambda: batches_settled(daemon), what="the first batch to settle")
    closes = len(gateway.requests(CLOSE))

    # Locked out, the trader buys 2: the daemon's closeContract (no order id in its reply) is
    # still working when the trader buys 1 more; both fill together, the close first. Market
    # orders fill 0.6 s after their acknowledgement, or at once when the price moves (so the
    # daemon sees the entries filled, not working orders it would cancel).
    gateway.set(fill_delay=0.6)
    enter(gateway, 2, "20950")
    gateway.wait_request(CLOSE, count=closes + 1)
    enter(gateway, 1, "20950.25")

    wait(lambda: len(gateway.requests(CLOSE)) == closes + 2, timeout=15, what="a second close")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="flat again")
    time.sleep(2.0)  # a duplicate close would show up (and reverse the position) by now
    assert len(gateway.requests(CLOSE)) == closes + 2
    assert gateway.history(ACCOUNT_ID, MNQ)[-4:] == [2, 0, 1, 0]  # never short
    wait(lambda: batches_settled(daemon), what="every batch done")
