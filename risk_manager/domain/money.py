"""Money rules of SPEC §3: average-price positions, realized and unrealized PnL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from risk_manager.domain.contracts import ContractSpec

CENT = Decimal("0.01")
ZERO = Decimal("0")


def cents(amount: Decimal) -> Decimal:
    """Round a dollar amount to cents, banker's rounding as brokers report."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def shown_cents(value: Any) -> Decimal | None:
    """A number as the screens round it (to cents, half up); None when it is not a finite number."""
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return amount if amount.is_finite() else None


def usd(amount: Decimal | int) -> str:
    """`$1,234.50` / `-$1,234.50`: the one way money is written in rule reasons, notices and the
    CLIs. Rounded to cents first, so a tiny loss never reads `-$0.00`."""
    rounded = shown_cents(amount)
    if rounded is None:
        raise ValueError(f"not a finite amount of money: {amount!r}")
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.2f}"


def price_pnl(spec: ContractSpec, entry: Decimal, exit_: Decimal, signed_size: int) -> Decimal:
    """(exit − entry) ÷ tick size × tick value × signed size, unrounded."""
    return (exit_ - entry) / spec.tick_size * spec.tick_value * signed_size


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """A position after a fill and what the fill did to it."""

    size: int
    avg_price: Decimal
    realized: Decimal  # gross, in cents, before fees
    closed: int  # contracts the fill closed
    opened: int  # contracts the fill opened or added (an entry)


def apply_fill(
    spec: ContractSpec, size: int, avg_price: Decimal, signed_qty: int, price: Decimal
) -> FillOutcome:
    """Apply a fill of `signed_qty` (buy > 0) at `price` to a position of `size` @ `avg_price`."""
    if signed_qty == 0:
        raise ValueError("a fill has a non-zero quantity")
    if size == 0 or (size > 0) == (signed_qty > 0):
        new_size = size + signed_qty
        new_avg = (avg_price * abs(size) + price * abs(signed_qty)) / abs(new_size)
        return FillOutcome(new_size, new_avg, ZERO, 0, abs(signed_qty))
    closed = min(abs(size), abs(signed_qty))
    direction = 1 if size > 0 else -1
    realized = cents(price_pnl(spec, avg_price, price, closed * direction))
    new_size = size + signed_qty
    if new_size == 0:
        return FillOutcome(0, ZERO, realized, closed, 0)
    if (new_size > 0) == (size > 0):
        return FillOutcome(new_size, avg_price, realized, closed, 0)
    # The fill flipped the position: the remainder is a new entry at the fill price.
    return FillOutcome(new_size, price, realized, closed, abs(new_size))
