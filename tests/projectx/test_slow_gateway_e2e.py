"""The real daemon on a slow, lossy ProjectX Gateway: every close ends at its target, never beyond.

ProjectX's closeContract answers without an order id, its fills come later over the user hub,
and a reply can be lost or throttled after the Gateway acted. The fake Gateway records the
position after every fill, so the tests check the whole path, not only where it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess
from tests.projectx.conftest import ACCOUNT_ID, ES, MNQ
from tests.projectx.fake_gateway.exchange import ASK, BID
from tests.projectx.fake_gateway.server import FakeGateway
from tests.projectx.test_daemon_e2e import batches_settled, lockout_rules, losing_trade, start, wait

CLOSE = "Position/closeContract"
PARTIAL = "Position/partialCloseContract"


def enter(gateway: FakeGateway, size: int, price: str) -> None:
    """The trader's market buy, filled at once by a price move (with any working order)."""
    gateway.buy(ACCOUNT_ID, MNQ, size)
    gateway.set_price(MNQ, price)


@pytest.mark.parametrize("close_fills_first", [True, False], ids=["close first", "entry first"])
def test_an_entry_while_an_idless_close_confirms_is_closed_by_one_more_close(
    start_daemon: Callable[..., DaemonProcess],
    gateway: FakeGateway,
    tmp_path: Path,
    close_fills_first: bool,
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    losing_trade(gateway)
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the first flatten")
    wait(lambda: batches_settled(daemon), what="the first batch to settle")
    closes = len(gateway.requests(CLOSE))

    # Locked out, the trader buys 2: the daemon's closeContract (no order id in its reply) is
    # still working when the trader buys 1 more, which fills with the close (after it) or on
    # its own before it. Market orders fill 0.6 s after their acknowledgement, or at once
    # when the price moves (so the daemon sees entries filled, not working orders to cancel).
    gateway.set(fill_delay=0.6)
    enter(gateway, 2, "20950")
    gateway.wait_request(CLOSE, count=closes + 1)
    if close_fills_first:
        enter(gateway, 1, "20950.25")
    else:
        entry = gateway.buy(ACCOUNT_ID, MNQ, 1)
        gateway.call(lambda: gateway.state.exchange.fill(gateway.state.exchange.orders[entry]))

    wait(lambda: len(gateway.requests(CLOSE)) == closes + 2, timeout=15, what="a second close")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="flat again")
    time.sleep(2.0)  # a duplicate close would show up (and reverse the position) by now
    assert len(gateway.requests(CLOSE)) == closes + 2
    path = [2, 0, 1, 0] if close_fills_first else [2, 3, 1, 0]
    assert gateway.history(ACCOUNT_ID, MNQ)[-4:] == path  # never short
    wait(lambda: batches_settled(daemon), what="every batch done")


def hold(gateway: FakeGateway, contract_id: str, size: int) -> None:
    """The trader's position, filled at once (market orders in the fake fill on a price move)."""
    gateway.trade(ACCOUNT_ID, contract_id, BID if size > 0 else ASK, abs(size))
    gateway.call(lambda: gateway.state.fill_ready(contract_id))
    wait(lambda: gateway.position(ACCOUNT_ID, contract_id) == size, what=f"{contract_id} filled")


def settled(gateway: FakeGateway, daemon: DaemonProcess, **sizes: int) -> None:
    """Wait for the positions (by contract) and for every enforcement batch to be done, then
    long enough for a duplicate close to have shown itself."""
    for contract_id, size in sizes.items():
        wait(lambda c=contract_id, s=size: gateway.position(ACCOUNT_ID, c) == s, timeout=30,
             what=f"{contract_id} at {size}")  # fmt: skip
    wait(lambda: batches_settled(daemon), timeout=30, what="every batch done")
    time.sleep(1.5)


def test_reduce_4_to_1_through_a_5xx_and_a_429_after_acting_ends_at_1(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path, profile="max_contracts.limit = 1")
    # The first partial close is answered 500 before acting; the second acts, its fill comes
    # 0.8 s later, and is answered 429: it must not be sent a third time.
    gateway.fail(PARTIAL, "500")
    gateway.fail(PARTIAL, "429", act=True)
    gateway.set(fill_delay=0.8)
    hold(gateway, MNQ, 4)

    settled(gateway, daemon, **{MNQ: 1})
    assert [body["size"] for body in gateway.wait_request(PARTIAL)] == [3, 3]
    assert gateway.history(ACCOUNT_ID, MNQ) == [4, 1]  # never below the limit
    assert gateway.position(ACCOUNT_ID, MNQ) == 1


def test_close_of_a_blocked_symbol_through_a_lost_reply_leaves_the_other_alone(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path, profile='symbol_blocks.symbols = ["ES"]')
    hold(gateway, MNQ, 2)
    # The close acts, its fill comes 0.4 s later, and its reply never comes (the request
    # times out after 2 s).
    gateway.fail(CLOSE, "hang", act=True, hang_seconds=4.0)
    gateway.set(fill_delay=0.4)
    hold(gateway, ES, -3)

    settled(gateway, daemon, **{ES: 0, MNQ: 2})
    assert gateway.wait_request(CLOSE) == [{"accountId": ACCOUNT_ID, "contractId": ES}]
    assert gateway.history(ACCOUNT_ID, ES) == [-3, 0]  # never long
    assert gateway.history(ACCOUNT_ID, MNQ) == [2]  # untouched


def test_flatten_of_two_positions_through_a_429_and_a_5xx_after_acting_ends_flat(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    profile = "max_contracts.limit = 3\nmax_contracts.close_all = true"
    daemon = start(start_daemon, gateway, tmp_path, profile=profile)
    hold(gateway, MNQ, 2)
    # The first close is throttled before acting; the next acts and is answered 500.
    gateway.fail(CLOSE, "429")
    gateway.fail(CLOSE, "500", act=True)
    gateway.set(fill_delay=0.6)
    hold(gateway, ES, -2)  # 4 contracts: over the limit, everything is closed

    settled(gateway, daemon, **{ES: 0, MNQ: 0})
    assert len(gateway.requests(CLOSE)) == 3  # the throttled one again, then one per symbol
    assert gateway.history(ACCOUNT_ID, ES) == [-2, 0]
    assert gateway.history(ACCOUNT_ID, MNQ) == [2, 0]
