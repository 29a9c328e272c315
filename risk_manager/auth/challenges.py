"""Outstanding single-use nonces, bounded in number and lifetime."""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict

from risk_manager.auth.errors import FailureReason

NONCE_BYTES = 32


def _digest(nonce_hex: str) -> bytes | None:
    # Keyed by a hash so the map never holds the nonce itself and lookups leak nothing useful.
    if len(nonce_hex) != 2 * NONCE_BYTES:
        return None
    try:
        raw = bytes.fromhex(nonce_hex)
    except ValueError:
        return None
    return hashlib.sha256(raw).digest()


class NonceStore:
    """Issues nonces and consumes each at most once; the oldest are evicted past `capacity`."""

    def __init__(self, *, ttl: float, capacity: int) -> None:
        self.ttl = ttl
        self.capacity = capacity
        # Insertion order is expiry order (one ttl for all), so purging pops from the front.
        self._live: OrderedDict[bytes, float] = OrderedDict()
        # Remembered until their original expiry so a replay gets its own, clearer reason.
        self._spent: OrderedDict[bytes, float] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._live)

    def issue(self, now: float) -> tuple[str, float]:
        """A fresh nonce (64 hex chars) and its monotonic expiry time."""
        self.purge(now)
        while len(self._live) >= self.capacity:
            self._live.popitem(last=False)
            self.evicted += 1
        nonce = secrets.token_hex(NONCE_BYTES)
        expires_at = now + self.ttl
        digest = _digest(nonce)
        assert digest is not None
        self._live[digest] = expires_at
        return nonce, expires_at

    def consume(self, nonce_hex: str, now: float) -> FailureReason | None:
        """Spend the nonce; None if it was live, else why it cannot be used."""
        digest = _digest(nonce_hex) if isinstance(nonce_hex, str) else None
        if digest is None:
            return "unknown_nonce"
        expires_at = self._live.pop(digest, None)
        if expires_at is None:
            spent_until = self._spent.get(digest)
            if spent_until is not None and now < spent_until:
                return "replayed_nonce"
            return "unknown_nonce"
        self._remember_spent(digest, expires_at)
        if now >= expires_at:
            return "expired_nonce"
        return None

    def _remember_spent(self, digest: bytes, expires_at: float) -> None:
        self._spent[digest] = expires_at
        while len(self._spent) > self.capacity:
            self._spent.popitem(last=False)

    def purge(self, now: float) -> None:
        """Drop nonces and spent records whose lifetime has passed."""
        for table in (self._live, self._spent):
            while table and next(iter(table.values())) <= now:
                table.popitem(last=False)

    def clear(self) -> None:
        """Forget every outstanding nonce."""
        self._live.clear()
        self._spent.clear()
