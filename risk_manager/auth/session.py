"""The admin handshake: challenge (nonce) -> proof -> short-lived bearer token.

Proof formula (shared with cli/admin_auth.py):
    K     = scrypt(NFC(password) as UTF-8, salt, n, r, p, dklen)   -- stored in secrets/admin.json
    proof = hex(HMAC-SHA256(key=K, msg=bytes.fromhex(nonce)))      -- the raw 32 nonce bytes

Time is monotonic seconds from an injected `now`, never the simulator's shiftable wall clock, so
moving simulated time can neither expire a token nor lift a lock. All state lives in memory: a
daemon restart forgets tokens, nonces and the lock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from loguru import logger

from risk_manager.auth.challenges import NonceStore
from risk_manager.auth.errors import (
    AuthFailed,
    AuthLocked,
    FailureReason,
    NotConfigured,
    SecretFileError,
)
from risk_manager.auth.lockout import FailureLock
from risk_manager.auth.passwords import SecretFileWatcher, StoredSecret
from risk_manager.auth.tokens import TokenStore

MAX_NONCE_TTL = 60.0

SecretLoader = Callable[[], StoredSecret | None]
LockListener = Callable[[int, int], None]

log = logger.bind(component="admin_auth")


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Tunables of the handshake; defaults follow SPEC §7."""

    nonce_ttl: float = 30.0
    token_ttl: float = 15 * 60.0
    max_failures: int = 5
    lock_seconds: float = 300.0
    max_nonces: int = 256
    max_tokens: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.nonce_ttl <= MAX_NONCE_TTL:
            raise ValueError(f"nonce_ttl must be in (0, {MAX_NONCE_TTL:g}] seconds")
        if self.token_ttl <= 0 or self.lock_seconds <= 0:
            raise ValueError("token_ttl and lock_seconds must be positive")
        if self.max_failures < 1 or self.max_nonces < 1 or self.max_tokens < 1:
            raise ValueError("max_failures, max_nonces and max_tokens must be at least 1")


@dataclass(frozen=True, slots=True)
class Challenge:
    """What POST /admin/challenge returns: a nonce plus what the client needs to derive K."""

    nonce: str
    salt: str
    n: int
    r: int
    p: int
    dklen: int
    expires_in: float

    def to_data(self) -> dict[str, Any]:
        """The `data` object of the API envelope."""
        return {
            "nonce": self.nonce,
            "salt": self.salt,
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "dklen": self.dklen,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and its lifetime; the value is kept out of repr so it never hits a log."""

    value: str = field(repr=False)
    expires_in: float

    def to_data(self) -> dict[str, Any]:
        """The `data` object of the API envelope."""
        return {"token": self.value, "token_type": "bearer", "expires_in": self.expires_in}


def expected_proof(key: bytes, nonce_hex: str) -> bytes:
    """HMAC-SHA256(key=K, msg=raw nonce bytes): the value a correct client sends, as bytes."""
    return hmac.new(key, bytes.fromhex(nonce_hex), hashlib.sha256).digest()


def _proof_bytes(proof: object) -> bytes | None:
    if not isinstance(proof, str) or len(proof) != 2 * hashlib.sha256().digest_size:
        return None
    try:
        return bytes.fromhex(proof)
    except ValueError:
        return None


class AdminAuth:
    """Issues challenges, checks proofs, hands out and verifies bearer tokens."""

    def __init__(
        self,
        load_secret: SecretLoader,
        *,
        now: Callable[[], float] = time.monotonic,
        settings: AuthSettings | None = None,
        on_lock: LockListener | None = None,
    ) -> None:
        self._load_secret = load_secret
        self._now = now
        self.settings = settings or AuthSettings()
        # on_lock(failures, lock_seconds) lets the daemon notify a human; SPEC §7 wants it.
        self._on_lock = on_lock
        self._nonces = NonceStore(ttl=self.settings.nonce_ttl, capacity=self.settings.max_nonces)
        self._tokens = TokenStore(ttl=self.settings.token_ttl, capacity=self.settings.max_tokens)
        self._lock = FailureLock(
            threshold=self.settings.max_failures, lock_seconds=self.settings.lock_seconds
        )
        self._key_fingerprint: bytes | None = None

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        now: Callable[[], float] = time.monotonic,
        settings: AuthSettings | None = None,
        on_lock: LockListener | None = None,
    ) -> AdminAuth:
        """An AdminAuth reading secrets/admin.json, rereading it whenever it changes on disk."""
        return cls(SecretFileWatcher(path), now=now, settings=settings, on_lock=on_lock)

    def issue_challenge(self) -> Challenge:
        """A fresh single-use nonce; NotConfigured, SecretFileError or AuthLocked otherwise."""
        now = self._now()
        self._refuse_if_locked(now)
        secret = self._require_secret()
        nonce, expires_at = self._nonces.issue(now)
        return Challenge(
            nonce=nonce,
            salt=secret.salt.hex(),
            n=secret.n,
            r=secret.r,
            p=secret.p,
            dklen=secret.dklen,
            expires_in=expires_at - now,
        )

    def open_session(self, nonce: str, proof: str) -> Token:
        """Trade a nonce and its proof for a bearer token; raises AuthFailed or AuthLocked."""
        now = self._now()
        # Spent first, whatever happens next: a nonce is good for exactly one attempt.
        nonce_problem = self._nonces.consume(nonce, now)
        if self._lock.is_locked(now):
            seconds = self._lock.seconds_remaining(now)
            log.warning("admin auth attempt refused: locked for {} s more", seconds)
            raise AuthLocked(seconds)
        if nonce_problem is not None:
            self._fail(nonce_problem, now)
        secret = self._require_secret()
        given = _proof_bytes(proof)
        if given is None or not hmac.compare_digest(expected_proof(secret.key, nonce), given):
            self._fail("bad_proof", now)
        self._lock.record_success()
        token, expires_at = self._tokens.issue(now)
        log.info("admin session opened ({} active)", len(self._tokens))
        return Token(value=token, expires_in=expires_at - now)

    def verify_token(self, token: str) -> bool:
        """Whether a bearer token is valid now; revoked if the password changed since issue."""
        try:
            self._require_secret()
        except (NotConfigured, SecretFileError):
            # No usable password any more: nobody can have a valid admin session.
            self.revoke_all()
            return False
        return self._tokens.is_valid(token, self._now())

    def revoke_all(self) -> None:
        """End every admin session and forget outstanding nonces (e.g. on password change)."""
        count = self._tokens.revoke_all()
        self._nonces.clear()
        if count:
            log.info("revoked {} admin session(s)", count)

    def status(self) -> dict[str, Any]:
        """Lock state and counters for /health; contains no secrets."""
        now = self._now()
        self._tokens.purge(now)
        self._nonces.purge(now)
        return {
            "locked": self._lock.is_locked(now),
            "seconds_remaining": self._lock.seconds_remaining(now),
            "failures": self._lock.failures,
            "active_sessions": len(self._tokens),
            "outstanding_nonces": len(self._nonces),
        }

    def _refuse_if_locked(self, now: float) -> None:
        seconds = self._lock.seconds_remaining(now)
        if seconds:
            raise AuthLocked(seconds)

    def _require_secret(self) -> StoredSecret:
        try:
            secret = self._load_secret()
        except SecretFileError as exc:
            log.error("admin secret unusable: {}", exc.reason)
            raise
        if secret is None:
            self._forget_key()
            raise NotConfigured()
        fingerprint = hashlib.sha256(secret.salt + secret.key).digest()
        if self._key_fingerprint is not None and fingerprint != self._key_fingerprint:
            log.warning("admin password changed on disk; ending existing admin sessions")
            self.revoke_all()
        self._key_fingerprint = fingerprint
        return secret

    def _forget_key(self) -> None:
        if self._key_fingerprint is not None:
            log.warning("admin secret removed; ending existing admin sessions")
            self.revoke_all()
        self._key_fingerprint = None

    def _fail(self, reason: FailureReason, now: float) -> NoReturn:
        started_lock = self._lock.record_failure(now)
        failures = self._lock.failures
        log.warning(
            "admin auth failed: {} ({}/{} consecutive)", reason, failures, self._lock.threshold
        )
        if not started_lock:
            raise AuthFailed(reason)
        seconds = self._lock.seconds_remaining(now)
        log.error("admin auth locked for {} s after {} consecutive failures", seconds, failures)
        self._notify_lock(failures, seconds)
        raise AuthFailed(reason, locked_for=seconds)

    def _notify_lock(self, failures: int, seconds: int) -> None:
        if self._on_lock is None:
            return
        try:
            self._on_lock(failures, seconds)
        except Exception:
            # A broken notifier must not turn a refused login into a server error.
            log.exception("admin auth lock listener failed")
