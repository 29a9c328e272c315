"""Outstanding SCRAM exchanges: single use, bounded in number and lifetime, never evicted."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

from scramp.core import ScramServer

from risk_manager.auth.errors import ChallengesBusy, FailureReason, TooEarly


def _digest(nonce: str) -> bytes:
    # Keyed by a hash so the spent table never holds a nonce and lookups leak nothing useful.
    return hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).digest()


@dataclass(slots=True)
class Exchange:
    """One challenge in flight: scramp's server state and when it may and must be answered."""

    server: ScramServer
    not_before: float
    expires_at: float


class ExchangeStore:
    """Holds exchanges by their combined nonce; each can be taken (answered) at most once.

    A full store refuses new challenges instead of evicting the oldest: otherwise anyone could
    flush the admin's challenge out by asking for a few hundred of their own.
    """

    def __init__(self, *, ttl: float, capacity: int) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._live: dict[bytes, Exchange] = {}
        # Remembered until their original expiry so a replay gets its own, clearer reason.
        self._spent: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def add(self, server: ScramServer, now: float, wait: int) -> Exchange:
        """Keep a started exchange, answerable from now + wait for `ttl` seconds."""
        self.purge(now)
        if len(self._live) >= self.capacity:
            soonest = min(exchange.expires_at for exchange in self._live.values())
            raise ChallengesBusy(max(1, math.ceil(soonest - now)))
        exchange = Exchange(server, now + wait, now + wait + self.ttl)
        self._live[_digest(str(server.nonce))] = exchange
        return exchange

    def take(self, nonce: str, now: float) -> Exchange | FailureReason:
        """Spend the exchange for `nonce`, or say why it cannot be used.

        TooEarly (and the exchange stays) while its penalty wait runs: an early answer was not
        checked, so it must neither count as a failure nor cost the admin the challenge.
        """
        digest = _digest(nonce)
        exchange = self._live.get(digest)
        if exchange is None:
            spent_until = self._spent.get(digest)
            if spent_until is not None and now < spent_until:
                return "replayed_nonce"
            return "unknown_nonce"
        if now < exchange.not_before:
            raise TooEarly(max(1, math.ceil(exchange.not_before - now)))
        del self._live[digest]
        self._spent[digest] = exchange.expires_at
        while len(self._spent) > self.capacity:
            self._spent.popitem(last=False)
        if now >= exchange.expires_at:
            return "expired_nonce"
        return exchange

    def purge(self, now: float) -> None:
        """Drop exchanges and spent records whose lifetime has passed."""
        for digest in [d for d, e in self._live.items() if e.expires_at <= now]:
            del self._live[digest]
        while self._spent and next(iter(self._spent.values())) <= now:
            self._spent.popitem(last=False)

    def clear(self) -> None:
        """Forget every outstanding exchange."""
        self._live.clear()
        self._spent.clear()
