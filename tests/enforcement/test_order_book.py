"""What the order book counts as added by the trader after one of the executor's closes filled.

A close is confirmed when the broker's position shows it; contracts the trader added since
are expected on top. Only fills that cannot be in the position the close was planned from
count: reported by the stream after the close's own fill, or stamped by the broker later than
the close's working state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from risk_manager.domain.events import Order, OrderStatus, OrderType, Side
from risk_manager.enforcement.inflight import OrderBook, Sent

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _order(order_id: str, side: Side, quantity: int, status: OrderStatus = OrderStatus.FILLED,
           symbol: str = "MNQ", account: str = "A", seconds: float = 1) -> Order:  # fmt: skip
    return Order(order_id, account, symbol, side, OrderType.MARKET, quantity, status,
                 T0 + timedelta(seconds=seconds))  # fmt: skip


def _close(book: OrderBook) -> Sent:
    """A sell of the whole long 2, sent at T0 and named "close" by the broker's reply."""
    sent = Sent("A", "MNQ", Side.SELL, None, 2, T0)
    book.add(sent)
    book.acknowledge(sent, "close")
    return sent


def test_nothing_is_counted_until_the_close_itself_is_seen_filled() -> None:
    book = OrderBook()
    sent = _close(book)
    book.observe(_order("close", Side.SELL, 2, OrderStatus.WORKING))
    book.observe(_order("entry", Side.BUY, 1))

    assert book.added_after(sent) == 0


def test_entries_filled_after_the_close_are_counted_and_nothing_else() -> None:
    book = OrderBook()
    book.observe(_order("resting", Side.BUY, 4, OrderStatus.WORKING, seconds=-5))
    sent = _close(book)
    book.observe(_order("early", Side.BUY, 3))  # filled before the close: maybe in its plan
    book.observe(_order("close", Side.SELL, 2))
    book.observe(_order("entry", Side.BUY, 1))
    book.observe(_order("pending", Side.BUY, 5, OrderStatus.WORKING))  # not filled (yet)
    book.observe(_order("exit", Side.SELL, 1))  # a reduction: the check allows less anyway
    book.observe(_order("other", Side.BUY, 7, symbol="ES"))
    book.observe(_order("elsewhere", Side.BUY, 8, account="B"))
    book.observe(_order("resting", Side.BUY, 4))  # known before the send: its stamp unknown
    book.observe(_order("again", Side.BUY, 2))
    book.observe(_order("ancient", Side.BUY, 9, seconds=-60))  # a fill the stream repeats

    assert book.added_after(sent) == 1 + 2


def test_a_close_without_an_id_counts_nothing_until_it_is_named() -> None:
    book = OrderBook()
    sent = Sent("A", "MNQ", Side.SELL, None, 2, T0)
    book.add(sent)
    book.acknowledge(sent, None)  # ProjectX's closeContract names no order
    book.observe(_order("close", Side.SELL, 2))
    book.observe(_order("entry", Side.BUY, 1))
    assert book.added_after(sent) == 0

    [found] = book.candidates(sent)
    book.claim(sent, found.order_id)

    assert book.added_after(sent) == 1


def test_an_entry_filled_after_the_close_was_placed_counts_though_reported_before_its_fill() -> (
    None
):
    """The broker stamped the close working at T0+1 s; an entry it filled at T0+1.5 s came after
    the position the close was planned from, even though the stream reports it before the
    close's own fill. One it filled at T0+0.5 s may be in that position: it does not count."""
    book = OrderBook()
    book.observe(_order("resting", Side.BUY, 3, OrderStatus.WORKING, seconds=-5))
    book.observe(_order("old", Side.BUY, 6, seconds=-9))
    sent = _close(book)
    book.observe(_order("close", Side.SELL, 2, OrderStatus.WORKING, seconds=1))
    book.observe(_order("before", Side.BUY, 4, seconds=0.5))  # reported late
    book.observe(_order("entry", Side.BUY, 1, seconds=1.5))
    book.observe(_order("resting", Side.BUY, 3, seconds=1.6))  # the trader's limit order
    book.observe(_order("close", Side.SELL, 2, seconds=2))
    book.observe(_order("old", Side.BUY, 6, seconds=-9))  # the stream repeats an old fill

    assert book.added_after(sent) == 1 + 3
