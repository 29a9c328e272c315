"""Which Gateway account each configured account is: by id, else by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loguru import logger


class AccountMap:
    """Configured account id ↔ Gateway account id (an int)."""

    def __init__(self, configured: Sequence[tuple[str, str]]) -> None:
        self.configured = list(configured)
        self._to_gateway: dict[str, int] = {}
        self._to_daemon: dict[int, str] = {}

    def resolve(self, found: Sequence[Mapping[str, Any]]) -> list[str]:
        """Match the Gateway's accounts; returns the configured ids left unmatched."""
        by_id = {str(a.get("id")): a for a in found}
        by_name = {str(a.get("name")): a for a in found}
        missing = []
        for account_id, name in self.configured:
            match = by_id.get(account_id) or by_name.get(account_id) or by_name.get(name)
            if match is None:
                missing.append(account_id)
                continue
            gateway_id = int(match["id"])
            self._to_gateway[account_id] = gateway_id
            self._to_daemon[gateway_id] = account_id
        if missing:
            names = ", ".join(str(a.get("name")) for a in found) or "none"
            logger.error("Accounts not found at the Gateway: {} (it has: {})",
                         ", ".join(missing), names)  # fmt: skip
        return missing

    def gateway_id(self, account_id: str) -> int | None:
        return self._to_gateway.get(account_id)

    def daemon_id(self, gateway_id: int) -> str | None:
        return self._to_daemon.get(gateway_id)

    def gateway_ids(self) -> list[int]:
        return list(self._to_daemon)

    def only(self) -> int | None:
        """The single Gateway account, when there is exactly one (pushes may omit accountId)."""
        ids = self.gateway_ids()
        return ids[0] if len(ids) == 1 else None
