"""Prices of the simulated market: opening prices, the tick grid and the seeded random walk."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.brokers.simulated.market import (
    DEFAULT_PRICES,
    RandomWalk,
    check_price,
    opening_price,
)
from risk_manager.domain.contracts import CONTRACTS, lookup

D = Decimal


def walk_prices(seed: int, start: dict[str, Decimal], steps: int) -> list[dict[str, Decimal]]:
    walk = RandomWalk(seed)
    history, prices = [], dict(start)
    for _ in range(steps):
        prices = walk.step(prices)
        history.append(prices)
    return history


def test_every_contract_root_has_a_default_opening_price() -> None:
    assert set(DEFAULT_PRICES) == set(CONTRACTS)
    assert opening_price("MNQ", {}) == D("21000")
    assert opening_price("ESZ5", {}) == D("6000")


def test_configured_opening_price_wins_by_symbol_then_root() -> None:
    configured = {"mnq": D("20000"), "MNQZ5": D("19999.75")}
    assert opening_price("MNQZ5", configured) == D("19999.75")
    assert opening_price("MNQH6", configured) == D("20000")


def test_configured_opening_price_off_the_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="tick size"):
        opening_price("ES", {"ES": D("6000.10")})


@pytest.mark.parametrize(
    ("symbol", "price", "message"),
    [
        ("MNQ", D("21000.10"), "tick size"),
        ("CL", D("70.005"), "tick size"),
        ("YM", D("44000.5"), "tick size"),
        ("MNQ", D("0"), "positive"),
        ("MNQ", D("-0.25"), "positive"),
        ("MNQ", D("NaN"), "finite"),
        ("MNQ", "abc", "not a number"),
        ("XYZ", D("1"), "unknown symbol"),
    ],
)
def test_check_price_refuses_bad_prices(symbol: str, price: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_price(symbol, price)  # type: ignore[arg-type]


def test_check_price_quantizes_to_the_tick() -> None:
    assert str(check_price("MNQ", D("21000.250"))) == "21000.25"
    assert str(check_price("CL", 70)) == "70.00"


def test_same_seed_walks_the_same_path() -> None:
    start = {"MNQ": D("21000"), "ES": D("6000"), "CL": D("70.00")}
    assert walk_prices(7, start, 200) == walk_prices(7, start, 200)
    assert walk_prices(7, start, 200) != walk_prices(8, start, 200)


def test_walk_moves_by_at_most_one_tick_per_step() -> None:
    start = {"MNQ": D("21000"), "CL": D("70.00")}
    previous = start
    for prices in walk_prices(3, start, 500):
        for symbol, price in prices.items():
            assert abs(price - previous[symbol]) in (0, lookup(symbol).tick_size)
        previous = prices


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    root=st.sampled_from(sorted(CONTRACTS)),
    start_ticks=st.integers(min_value=1, max_value=50),
    steps=st.integers(min_value=1, max_value=300),
)
def test_walk_stays_positive_and_on_the_tick_grid(
    seed: int, root: str, start_ticks: int, steps: int
) -> None:
    tick = lookup(root).tick_size
    for prices in walk_prices(seed, {root: tick * start_ticks}, steps):
        price = prices[root]
        assert price > 0
        assert price % tick == 0
