"""Gateway contract ids ↔ the exchange-style symbols the daemon and its rules use.

The Gateway names some products differently from the exchange (ES is "EP", NQ is "ENQ"), and
rules are written with exchange roots, so a contract id `CON.F.US.EP.Z25` becomes the symbol
`ESZ25` and back. Contract ids of any other shape are used unchanged as symbols.
"""

from __future__ import annotations

import re

# Exchange root → Gateway root. The CME FX pairs are documented; GC/CL/MCL/SI come from client
# maps and are unconfirmed, but mapping them is harmless if the Gateway keeps the exchange root.
GATEWAY_ROOTS: dict[str, str] = {
    "ES": "EP",
    "NQ": "ENQ",
    "6E": "EU6",
    "6J": "JY6",
    "6B": "BP6",
    "6A": "DA6",
    "6C": "CA6",
    "GC": "GCE",
    "CL": "CLE",
    "MCL": "MCLE",
    "SI": "SIE",
}
EXCHANGE_ROOTS: dict[str, str] = {gateway: exchange for exchange, gateway in GATEWAY_ROOTS.items()}

_CONTRACT_ID = re.compile(r"^CON\.F\.US\.([A-Z0-9]+)\.([FGHJKMNQUVXZ]\d{1,2})$")
_SYMBOL = re.compile(r"^([A-Z0-9]+?)([FGHJKMNQUVXZ]\d{1,2})$")


def exchange_root(gateway_root: str) -> str:
    """ "EP" → "ES"; roots the Gateway does not rename come back unchanged."""
    return EXCHANGE_ROOTS.get(gateway_root, gateway_root)


def gateway_root(root: str) -> str:
    """ "ES" → "EP"; roots the Gateway does not rename come back unchanged."""
    return GATEWAY_ROOTS.get(root, root)


def symbol_of(contract_id: str) -> str:
    """`CON.F.US.EP.Z25` → `ESZ25`; an id of another shape is its own symbol."""
    match = _CONTRACT_ID.match(contract_id)
    if match is None:
        return contract_id
    root, expiry = match.groups()
    return f"{exchange_root(root)}{expiry}"


def contract_id_of(symbol: str) -> str:
    """`ESZ25` → `CON.F.US.EP.Z25`, the inverse of `symbol_of`."""
    match = _SYMBOL.match(symbol)
    if symbol.startswith("CON.") or match is None:
        return symbol
    root, expiry = match.groups()
    return f"CON.F.US.{gateway_root(root)}.{expiry}"
