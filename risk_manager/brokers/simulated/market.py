"""The simulator's market: opening prices, tick-grid checks, a seeded walk, execution prices."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from loguru import logger

from risk_manager.domain.contracts import UnknownContractError, lookup, symbol_root
from risk_manager.domain.events import OrderType, Side

# Round numbers near where each product traded when the simulator was written.
DEFAULT_PRICES: dict[str, Decimal] = {
    root: Decimal(price)
    for root, price in (
        ("MNQ", "21000"),
        ("NQ", "21000"),
        ("ES", "6000"),
        ("MES", "6000"),
        ("RTY", "2300"),
        ("M2K", "2300"),
        ("YM", "44000"),
        ("MYM", "44000"),
        ("CL", "70"),
        ("MCL", "70"),
        ("GC", "2650"),
        ("MGC", "2650"),
    )
}

_STEPS = (-1, 0, 1)


def normalize_symbol(symbol: str) -> str:
    """The symbol as the exchange keys it (trimmed, upper case); ValueError if not in the table."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValueError(f"symbol must be a non-empty string, got {symbol!r}")
    normalized = symbol.strip().upper()
    try:
        lookup(normalized)
    except UnknownContractError:
        raise ValueError(f"unknown symbol {symbol!r}: not in the contract table") from None
    return normalized


def check_price(symbol: str, price: Decimal | int | str) -> Decimal:
    """`price` quantized to the symbol's tick grid; ValueError if not positive or off-grid."""
    try:
        value = price if isinstance(price, Decimal) else Decimal(str(price))
    except InvalidOperation:
        raise ValueError(f"price {price!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"price {price!r} is not a finite number")
    tick = lookup(normalize_symbol(symbol)).tick_size
    if value <= 0:
        raise ValueError(f"price {value} for {symbol} must be positive")
    if value % tick != 0:
        raise ValueError(f"price {value} for {symbol} is not a multiple of its tick size {tick}")
    return value.quantize(tick)


def opening_price(symbol: str, configured: Mapping[str, Decimal]) -> Decimal:
    """A symbol's first price: configured for the symbol, else for its root, else the default."""
    by_key = {key.strip().upper(): value for key, value in configured.items()}
    symbol = normalize_symbol(symbol)
    root = symbol_root(symbol)
    price = by_key.get(symbol, by_key.get(root, DEFAULT_PRICES.get(root)))
    if price is None:
        raise ValueError(f"no opening price for {symbol}: set one in the simulator's prices")
    return check_price(symbol, price)


_PRICES_BY_TYPE = {  # which prices each order type takes: (limit, stop)
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP: (False, True),
    OrderType.STOP_LIMIT: (True, True),
}


def check_order_prices(
    symbol: str, order_type: OrderType, limit: Decimal | None, stop: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """(limit, stop) on the tick grid; ValueError if the type lacks or does not take one."""
    needs = _PRICES_BY_TYPE.get(order_type)
    if needs is None:
        raise ValueError(f"the simulator does not support {order_type} orders")
    for name, needed, value in (("limit", needs[0], limit), ("stop", needs[1], stop)):
        if needed and value is None:
            raise ValueError(f"a {order_type} order needs a {name} price")
        if not needed and value is not None:
            raise ValueError(f"a {order_type} order takes no {name} price")
    return (
        None if limit is None else check_price(symbol, limit),
        None if stop is None else check_price(symbol, stop),
    )


def execution_price(
    side: Side,
    order_type: OrderType,
    price: Decimal,
    limit: Decimal | None,
    stop: Decimal | None,
    *,
    triggered: bool,
    on_entry: bool,
) -> tuple[Decimal | None, bool]:
    """(where an order fills at market `price` or None, whether its stop has now triggered)."""
    buy = side is Side.BUY
    if order_type is OrderType.MARKET:
        return price, triggered
    if order_type is OrderType.STOP or (order_type is OrderType.STOP_LIMIT and not triggered):
        assert stop is not None
        if not (price >= stop if buy else price <= stop):
            return None, False
        if order_type is OrderType.STOP:
            return price, True
        triggered = on_entry = True  # the limit it turns into starts working now, at this price
    assert limit is not None
    if not (price <= limit if buy else price >= limit):
        return None, triggered
    # A limit that is marketable when it starts working fills at the better market price;
    # one reached by a price move fills at its limit.
    return (price if on_entry else limit), triggered


class RandomWalk:
    """Moves each price by −1, 0 or +1 tick per step, reproducibly for a seed."""

    def __init__(self, seed: int) -> None:
        # A reproducible market for tests and demos, not a security boundary.
        self._rng = random.Random(seed)  # noqa: S311

    def step(self, prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The next price of every symbol, in the mapping's order (the order draws are made in)."""
        moved: dict[str, Decimal] = {}
        for symbol, price in prices.items():
            tick = lookup(symbol).tick_size
            candidate = price + tick * self._rng.choice(_STEPS)
            # A walk down to zero would leave the grid's positive range; stay put instead.
            moved[symbol] = candidate if candidate > 0 else price
        return moved


async def run_walk(
    walk: RandomWalk,
    interval_s: float,
    current: Callable[[], Mapping[str, Decimal]],
    apply: Callable[[dict[str, Decimal]], None],
) -> None:
    """Every `interval_s`, step `walk` over `current()` prices and `apply` them, until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            apply(walk.step(current()))
        except Exception:
            # One bad tick (say a full disk) must not stop the market for the rest of the session.
            logger.exception("simulated market tick failed")
