"""Contract specs from `Contract/searchById`, cached in memory and in a JSON file.

Persisting them means a restart can price positions before the Gateway answers, and a product
the built-in table does not know stays priceable across restarts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from loguru import logger

from risk_manager.brokers.projectx.mapping import PayloadError, decimal_field
from risk_manager.brokers.projectx.symbols import symbol_of
from risk_manager.domain.contracts import ContractSpec, lookup, symbol_root
from risk_manager.home_files import write_atomic


class ContractBook:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._specs: dict[str, ContractSpec] = {}
        self._load()

    def __contains__(self, contract_id: str) -> bool:
        return contract_id in self._specs

    def spec(self, contract_id: str) -> ContractSpec:
        """The Gateway's spec when known, else the built-in table's (UnknownContractError)."""
        known = self._specs.get(contract_id)
        return known if known is not None else lookup(symbol_of(contract_id))

    def learn(self, contract_id: str, reply: Mapping[str, Any]) -> ContractSpec:
        """Store the contract of a searchById reply (`contract`, or `contracts[]` in old docs)."""
        record = reply.get("contract")
        if record is None and isinstance(reply.get("contracts"), list) and reply["contracts"]:
            record = reply["contracts"][0]
        if not isinstance(record, Mapping):
            raise PayloadError("searchById reply without a contract")
        spec = _spec(contract_id, record)
        self._specs[contract_id] = spec
        self._save()
        return spec

    def _load(self) -> None:
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            logger.warning("Ignoring the contract cache {}: {}", self._path.name, error)
            return
        for contract_id, record in data.items() if isinstance(data, dict) else ():
            try:
                self._specs[contract_id] = _spec(contract_id, record)
            except (PayloadError, TypeError, AttributeError):
                logger.warning("Ignoring the cached contract {}", contract_id)

    def _save(self) -> None:
        data = {cid: {"name": s.name, "tickSize": str(s.tick_size), "tickValue": str(s.tick_value)}
                for cid, s in self._specs.items()}  # fmt: skip
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._path, json.dumps(data, indent=1, sort_keys=True))
        except OSError as error:
            # Only a cache (the specs stay in memory): a full or read-only disk costs a lookup
            # at the next start, never the event that brought the contract.
            logger.warning("Cannot save the contract cache {}: {}", self._path.name, error)


def _spec(contract_id: str, record: Mapping[str, Any]) -> ContractSpec:
    tick_size = decimal_field(record.get("tickSize"), "tickSize")
    tick_value = decimal_field(record.get("tickValue"), "tickValue")
    if tick_size <= 0 or tick_value <= 0:
        raise PayloadError("tickSize and tickValue must be positive")
    symbol = symbol_of(contract_id)
    name = str(record.get("description") or record.get("name") or symbol)
    return ContractSpec(symbol_root(symbol), name, tick_size, tick_value, Decimal(0))
