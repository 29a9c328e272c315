"""Bearer tokens held only in memory, stored as sha256(token) -> expiry."""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict

TOKEN_BYTES = 32


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenStore:
    """Issues random tokens and answers whether one is still valid."""

    def __init__(self, *, ttl: float, capacity: int) -> None:
        self.ttl = ttl
        self.capacity = capacity
        # Insertion order is expiry order (one ttl for all): the front is always the oldest.
        self._tokens: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tokens)

    def issue(self, now: float) -> tuple[str, float]:
        """A fresh URL-safe token and its monotonic expiry time."""
        self.purge(now)
        while len(self._tokens) >= self.capacity:
            self._tokens.popitem(last=False)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + self.ttl
        self._tokens[_digest(token)] = expires_at
        return token, expires_at

    def is_valid(self, token: str, now: float) -> bool:
        """Whether the token was issued here and has not expired or been revoked."""
        if not isinstance(token, str) or not token:
            return False
        # The lookup key is a hash of the token, so timing reveals nothing about valid tokens.
        digest = _digest(token)
        expires_at = self._tokens.get(digest)
        if expires_at is None:
            return False
        if now >= expires_at:
            del self._tokens[digest]
            return False
        return True

    def purge(self, now: float) -> None:
        """Drop expired tokens."""
        while self._tokens and next(iter(self._tokens.values())) <= now:
            self._tokens.popitem(last=False)

    def revoke_all(self) -> int:
        """Forget every token; returns how many were live."""
        count = len(self._tokens)
        self._tokens.clear()
        return count
