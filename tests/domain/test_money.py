"""Money rules of SPEC §3 on known contract facts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.contracts import CONTRACTS, UnknownContractError, lookup, symbol_root
from risk_manager.domain.money import apply_fill, price_pnl, usd


@pytest.mark.parametrize(
    ("root", "tick", "value"),
    [("MNQ", "0.25", "0.50"), ("ES", "0.25", "12.50"), ("NQ", "0.25", "5.00"),
     ("CL", "0.01", "10.00")],
)  # fmt: skip
def test_known_contract_facts(root: str, tick: str, value: str) -> None:
    spec = CONTRACTS[root]
    assert (spec.tick_size, spec.tick_value) == (D(tick), D(value))


def test_table_covers_the_spec_contracts() -> None:
    required = {"ES", "MES", "NQ", "MNQ", "RTY", "M2K", "YM", "MYM", "CL", "MCL", "GC", "MGC"}
    assert required <= CONTRACTS.keys()


def test_mnq_is_two_dollars_a_point() -> None:
    assert price_pnl(CONTRACTS["MNQ"], D("21000"), D("21001"), 1) == D("2")


def test_two_mnq_long_ten_points_down_is_minus_forty() -> None:
    assert price_pnl(CONTRACTS["MNQ"], D("21000.00"), D("20990.00"), 2) == D("-40")


def test_short_gains_when_price_falls() -> None:
    assert price_pnl(CONTRACTS["ES"], D("6000"), D("5999.75"), -1) == D("12.50")


@pytest.mark.parametrize(
    ("symbol", "root"),
    [("CON.F.US.MNQ.Z25", "MNQ"), ("ESZ6", "ES"), ("MNQZ25", "MNQ"), ("mes", "MES"),
     ("M2K", "M2K"), ("MYMH6", "MYM")],
)  # fmt: skip
def test_symbol_root(symbol: str, root: str) -> None:
    assert symbol_root(symbol) == root


def test_unknown_contract_is_a_clear_error() -> None:
    with pytest.raises(UnknownContractError, match="ZZZ"):
        lookup("ZZZ")


def test_adding_averages_and_closing_realizes_against_the_average() -> None:
    mnq = CONTRACTS["MNQ"]
    first = apply_fill(mnq, 0, D(0), 1, D("21000"))
    added = apply_fill(mnq, first.size, first.avg_price, 1, D("21001"))
    closed = apply_fill(mnq, added.size, added.avg_price, -2, D("21010"))

    assert (added.size, added.avg_price, added.opened) == (2, D("21000.5"), 1)
    assert (closed.size, closed.realized, closed.closed) == (0, D("38.00"), 2)


def test_flip_opens_the_remainder_at_the_fill_price() -> None:
    outcome = apply_fill(CONTRACTS["ES"], 1, D("6000"), -3, D("6001"))
    assert (outcome.size, outcome.avg_price, outcome.realized) == (-2, D("6001"), D("50.00"))
    assert (outcome.closed, outcome.opened) == (1, 2)


def test_zero_quantity_fill_is_refused() -> None:
    with pytest.raises(ValueError, match="non-zero"):
        apply_fill(CONTRACTS["ES"], 0, D(0), 0, D("6000"))


ticks = st.integers(min_value=60000, max_value=100000).map(lambda n: D(n) * D("0.25"))


@given(
    fills=st.lists(st.tuples(st.integers(-5, 5).filter(bool), ticks), min_size=1, max_size=30),
    exit_price=ticks,
)
def test_realized_plus_final_unrealized_equals_cash_flow(fills, exit_price) -> None:
    """Bookkeeping identity: whatever the path, PnL = −Σ(qty × price) valued at the exit,
    up to the half cent each closing fill is rounded by (as brokers report per fill)."""
    mnq = CONTRACTS["MNQ"]
    size, avg, realized = 0, D(0), D(0)
    for qty, price in fills:
        outcome = apply_fill(mnq, size, avg, qty, price)
        size, avg, realized = outcome.size, outcome.avg_price, realized + outcome.realized
    unrealized = price_pnl(mnq, avg, exit_price, size) if size else D(0)
    cash = sum((-qty * price for qty, price in fills), D(0)) + size * exit_price
    drift = abs(realized + unrealized - cash * mnq.tick_value / mnq.tick_size)
    assert drift <= D("0.005") * len(fills)


def test_usd_is_the_cli_money_format() -> None:
    assert [usd(D("-152.224")), usd(D("1234.5")), usd(D("-0.004")), usd(0)] == [
        "-$152.22", "$1,234.50", "$0.00", "$0.00",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a finite amount"):
        usd(D("NaN"))


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4))
def test_usd_reads_back_as_the_amount_rounded_to_cents(amount: D) -> None:
    text = usd(amount)
    assert not text.startswith("-$0.00")
    back = D(text.replace("$", "").replace(",", ""))
    assert abs(back - amount) <= D("0.005")
