"""Property tests of the replay's book: the daemon's closes never overshoot, and the ledger
adds up to what the trades made, whatever the recorded fills in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.brokers.replay.book import ReplayBook
from risk_manager.domain.events import Fill, OrderType, Quote, Side

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
START = Decimal("50000")
FEE = Decimal("0.37")  # MNQ, per contract per side
POINT = Decimal("2")  # MNQ dollars per point

# (what happens, side, quantity, price offset in ticks): a recorded fill, or the daemon
# closing the position or part of it (side and price then come from the book).
Step = tuple[str, Side, int, int]
STEPS = st.lists(
    st.tuples(st.sampled_from(["recorded", "recorded", "close", "partial"]),
              st.sampled_from(Side), st.integers(1, 6), st.integers(-40, 40)),
    max_size=30,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_closes_never_overshoot_and_the_ledger_adds_up(steps: list[Step]) -> None:
    book = ReplayBook([("A", "A")], START)
    trades: list[tuple[int, Decimal]] = []  # every fill: (signed quantity, price)
    for n, (kind, side, quantity, offset) in enumerate([*steps, ("close", Side.BUY, 1, 0)]):
        now = T0 + timedelta(seconds=n)
        before = book.size("A", "MNQ")
        if kind == "recorded":
            price = Decimal("21000") + Decimal(offset) / 4
            book.record(Quote("MNQ", now, last=price))
            book.record(Fill(f"f{n}", "A", now, "MNQ", side, quantity, price, FEE * quantity))
            trades.append((quantity * int(side), price))
            continue
        if before == 0:
            continue
        quantity = abs(before) if kind == "close" else min(quantity, abs(before))
        closing = Side.SELL if before > 0 else Side.BUY
        _, events = book.submit("A", "MNQ", closing, quantity, OrderType.MARKET, now)
        [fill] = [e for e in events if isinstance(e, Fill)]
        trades.append((fill.signed_qty, fill.price))
        after = book.size("A", "MNQ")
        assert abs(after) == abs(before) - quantity  # reduced by exactly that much
        assert after == 0 or (after > 0) == (before > 0)  # never flipped
    size = sum(signed for signed, _ in trades)
    assert book.size("A", "MNQ") == size
    _, balance, _ = book.account("A")
    fees = FEE * sum(abs(signed) for signed, _ in trades)
    assert size == 0
    # Flat: realized is what was sold minus what was bought, whatever the order of the fills;
    # each fill's realized is rounded to the cent (an average price can be a third of a tick).
    gross = -sum(signed * price for signed, price in trades) * POINT
    assert abs(balance - (START + gross - fees)) <= Decimal("0.01") * len(trades)
