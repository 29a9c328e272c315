"""Contract facts: tick size, tick value and simulator fees, keyed by symbol root."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# Month code + 1–2 digit year, e.g. the "Z6" of "MNQZ6" or the "Z25" of "ESZ25".
_EXPIRY_SUFFIX = re.compile(r"^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$")


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """What one point of price movement is worth for a contract."""

    root: str
    name: str
    tick_size: Decimal
    tick_value: Decimal
    fee_per_side: Decimal = Decimal("0")


def _spec(root: str, name: str, tick: str, value: str, fee: str) -> ContractSpec:
    return ContractSpec(root, name, Decimal(tick), Decimal(value), Decimal(fee))


# CME exchange facts; fees are typical per-side prop-firm commissions used by the simulator.
CONTRACTS: dict[str, ContractSpec] = {
    spec.root: spec
    for spec in (
        _spec("ES", "E-mini S&P 500", "0.25", "12.50", "1.40"),
        _spec("MES", "Micro E-mini S&P 500", "0.25", "1.25", "0.37"),
        _spec("NQ", "E-mini Nasdaq-100", "0.25", "5.00", "1.40"),
        _spec("MNQ", "Micro E-mini Nasdaq-100", "0.25", "0.50", "0.37"),
        _spec("RTY", "E-mini Russell 2000", "0.10", "5.00", "1.40"),
        _spec("M2K", "Micro E-mini Russell 2000", "0.10", "0.50", "0.37"),
        _spec("YM", "E-mini Dow", "1", "5.00", "1.40"),
        _spec("MYM", "Micro E-mini Dow", "1", "0.50", "0.37"),
        _spec("CL", "Crude Oil", "0.01", "10.00", "1.50"),
        _spec("MCL", "Micro Crude Oil", "0.01", "1.00", "0.50"),
        _spec("GC", "Gold", "0.10", "10.00", "1.55"),
        _spec("MGC", "Micro Gold", "0.10", "1.00", "0.50"),
    )
}


class UnknownContractError(LookupError):
    """A symbol whose root is not in the contract table and that the broker did not describe."""


def symbol_root(symbol: str) -> str:
    """The product root of a symbol: "CON.F.US.MNQ.Z25" → "MNQ", "ESZ6" → "ES", "MNQ" → "MNQ"."""
    symbol = symbol.strip().upper()
    if symbol.startswith("CON."):
        parts = symbol.split(".")
        return parts[3] if len(parts) > 3 else symbol
    if symbol in CONTRACTS:
        return symbol
    match = _EXPIRY_SUFFIX.match(symbol)
    return match.group(1) if match else symbol


def known_root(symbol: str) -> str:
    """The root of `symbol`; ValueError naming the known roots when the table lacks it."""
    root = symbol_root(symbol)
    if root not in CONTRACTS:
        raise ValueError(f"unknown symbol {symbol!r} (known roots: {', '.join(sorted(CONTRACTS))})")
    return root


def lookup(symbol: str) -> ContractSpec:
    """The built-in spec for a symbol, by root."""
    try:
        return CONTRACTS[symbol_root(symbol)]
    except KeyError:
        raise UnknownContractError(f"unknown contract {symbol!r}") from None
