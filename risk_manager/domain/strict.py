"""Strict, finite, bounded number types for the config and the request bodies.

No silent coercion: `true` is not 1 and `"500"` is not 500 (TOML and JSON both have real
numbers and booleans, so a string or a boolean where a number belongs is a mistake).
Every bound is far beyond any real use; a value past it is a typo or an attack, and an
unbounded one could switch a safeguard off (`watchdog_seconds = inf`).
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict

from risk_manager.domain.contracts import known_root

MAX_DOLLARS = Decimal("1000000000")  # any balance, limit, target or fee
MAX_PRICE = Decimal("10000000")  # any futures price, in points
MAX_CONTRACTS = 100_000
MAX_TICKS = 100_000
MAX_MINUTES = 366 * 24 * 60
MAX_SECONDS = 366 * 24 * 3600


def _known_symbol(symbol: str) -> str:
    known_root(symbol)
    return symbol


def _a_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return value


def _not_a_number(value: object) -> object:
    if isinstance(value, bool | int | float | Decimal):
        # pydantic would read it as seconds after midnight UTC
        raise ValueError(f'expected a wall time like "17:00", got {type(value).__name__}')
    return value


def _no_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a wall time takes no UTC offset: it is read in the configured zone")
    return value


# Decimal's own strict mode refuses int and float too, which TOML numbers are.
StrictDecimal = Annotated[Decimal, BeforeValidator(_a_number), Field(allow_inf_nan=False)]
StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
StrictBool = Annotated[bool, Strict()]

Dollars = Annotated[StrictDecimal, Field(ge=-MAX_DOLLARS, le=MAX_DOLLARS)]
Price = Annotated[StrictDecimal, Field(gt=0, le=MAX_PRICE)]
Contracts = Annotated[StrictInt, Field(ge=0, le=MAX_CONTRACTS)]
Ticks = Annotated[StrictInt, Field(ge=0, le=MAX_TICKS)]
Minutes = Annotated[StrictInt, Field(ge=0, le=MAX_MINUTES)]
Seconds = Annotated[StrictInt, Field(ge=0, le=MAX_SECONDS)]

# A symbol whose root the contract table knows (kept as written).
KnownSymbol = Annotated[str, AfterValidator(_known_symbol)]
# A time of day on the wall clock of a configured zone ("17:00" or a TOML local time).
WallTime = Annotated[time, BeforeValidator(_not_a_number), AfterValidator(_no_offset)]
