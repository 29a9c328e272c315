"""The admin handshake: SCRAM-SHA-256 (RFC 5802 / RFC 7677) -> short-lived bearer token.

    POST /admin/challenge {client_first}  -> {server_first, wait, expires_in}
    POST /admin/session   {client_final}  -> {server_final, token, ...}

The daemon holds only the verifier (StoredKey, ServerKey); the client proves the password with
ClientProof and checks the daemon's ServerSignature (`server_final`) before trusting the token.
Challenges cost the daemon no memory (scram.py), so asking for many cannot crowd anyone out.
Time is monotonic seconds from an injected `now`, never the simulator's shiftable wall clock, so
moving simulated time can neither expire a token nor lift a penalty. All state lives in memory: a
daemon restart forgets tokens, challenges and the penalty.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from loguru import logger

from risk_manager.auth import scram
from risk_manager.auth.errors import AuthFailed, NotConfigured, SecretFileError, TooEarly
from risk_manager.auth.passwords import MECHANISM, SecretFileWatcher, StoredSecret
from risk_manager.auth.penalty import MAX_WAIT_SECONDS, ProgressivePenalty, ResetMarker
from risk_manager.auth.tokens import TokenStore

MAX_NONCE_TTL = 60.0
RESET_MARKER = "auth-reset"

SecretLoader = Callable[[], StoredSecret | None]
PenaltyListener = Callable[[int, int], None]

log = logger.bind(component="admin_auth")


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Tunables of the handshake; defaults follow SPEC §7."""

    nonce_ttl: float = 30.0
    token_ttl: float = 15 * 60.0
    # A few typos are free; then challenges wait first_delay, doubling per failure up to max_delay.
    free_failures: int = 3
    first_delay: float = 1.0
    max_delay: float = MAX_WAIT_SECONDS
    forget_after: float = 15 * 60.0
    max_tokens: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.nonce_ttl <= MAX_NONCE_TTL:
            raise ValueError(f"nonce_ttl must be in (0, {MAX_NONCE_TTL:g}] seconds")
        if min(self.token_ttl, self.first_delay, self.max_delay, self.forget_after) <= 0:
            raise ValueError("token_ttl and the penalty times must be positive")
        if self.max_delay > MAX_WAIT_SECONDS:
            raise ValueError(
                f"max_delay must be at most {MAX_WAIT_SECONDS} s (clients wait no longer)"
            )
        if self.free_failures < 0 or self.max_tokens < 1:
            raise ValueError("free_failures must be >= 0 and max_tokens >= 1")


@dataclass(frozen=True, slots=True)
class Challenge:
    """What POST /admin/challenge returns: the server-first message and when to answer it."""

    server_first: str
    wait: int
    expires_in: float

    def to_data(self) -> dict[str, Any]:
        """The `data` object of the API envelope."""
        return {
            "mechanism": MECHANISM,
            "server_first": self.server_first,
            "wait": self.wait,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True, slots=True)
class Session:
    """A bearer token, its lifetime, and the server signature proving who issued it."""

    server_final: str
    value: str = field(repr=False)  # kept out of repr so it never reaches a log
    expires_in: float

    def to_data(self) -> dict[str, Any]:
        """The `data` object of the API envelope."""
        return {
            "server_final": self.server_final,
            "token": self.value,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }


class AdminAuth:
    """Answers SCRAM challenges, applies the failure penalty, issues and verifies bearer tokens."""

    def __init__(
        self,
        load_secret: SecretLoader,
        *,
        now: Callable[[], float] = time.monotonic,
        settings: AuthSettings | None = None,
        on_penalty: PenaltyListener | None = None,
        reset_marker: Path | None = None,
    ) -> None:
        self._load_secret = load_secret
        self._now = now
        self.settings = s = settings or AuthSettings()
        # on_penalty(failures, wait_seconds) lets the daemon tell a human; SPEC §7 wants it.
        self._on_penalty = on_penalty
        self._reset = ResetMarker(reset_marker) if reset_marker is not None else None
        self._seal = scram.NonceSeal()
        self._spent = scram.SpentNonces()
        self._tokens = TokenStore(ttl=s.token_ttl, capacity=s.max_tokens)
        self._penalty = ProgressivePenalty(
            free_failures=s.free_failures, first_delay=s.first_delay,
            max_delay=s.max_delay, forget_after=s.forget_after,
        )  # fmt: skip
        self._key_fingerprint: bytes | None = None

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        now: Callable[[], float] = time.monotonic,
        settings: AuthSettings | None = None,
        on_penalty: PenaltyListener | None = None,
    ) -> AdminAuth:
        """An AdminAuth reading secrets/admin.json (reread on change) and its reset marker."""
        return cls(
            SecretFileWatcher(path), now=now, settings=settings, on_penalty=on_penalty,
            reset_marker=Path(path).with_name(RESET_MARKER),
        )  # fmt: skip

    def issue_challenge(self, client_first: str) -> Challenge:
        """Answer a client-first message; the challenge waits as long as the penalty says."""
        now = self._now()
        self._apply_reset()
        secret = self._require_secret()
        # A refused message (AuthFailed) issued nothing, so it counts nothing against the penalty.
        gs2_header, client_nonce = scram.parse_client_first(client_first)
        wait = self._penalty.delay(now)
        ttl = self.settings.nonce_ttl
        sealed = self._seal.seal(gs2_header, client_nonce, now + wait, now + wait + ttl)
        nonce = client_nonce + sealed
        return Challenge(scram.server_first(nonce, secret), wait, wait + ttl)

    def open_session(self, client_final: str) -> Session:
        """Check the client proof of an issued challenge and hand out a bearer token."""
        now = self._now()
        self._apply_reset()
        # First: a password changed since the challenge must end it (new seal), not verify it.
        secret = self._require_secret()
        final = scram.parse_client_final(client_final)
        # Only proofs against a live challenge of ours count: garbage cannot build a penalty.
        not_before, expires_at = self._open_challenge(final)
        if now < not_before:
            # Not checked, so neither counted nor spent: the admin keeps the challenge.
            raise TooEarly(max(1, math.ceil(not_before - now)))
        if not self._spent.spend(final.nonce, expires_at, now):
            raise AuthFailed("replayed_nonce")
        if now >= expires_at:
            raise AuthFailed("expired_nonce")
        server_final = scram.check_proof(secret, final)
        if server_final is None:
            self._fail(now)
        self._penalty.reset()
        token, token_expires = self._tokens.issue(now)
        log.info("admin session opened ({} active)", len(self._tokens))
        return Session(server_final, token, token_expires - now)

    def _open_challenge(self, final: scram.ClientFinal) -> tuple[float, float]:
        window = self._seal.open(final.gs2_header, final.client_nonce, final.server_nonce)
        if window is not None:
            return window
        # Our nonce, but first sent with the other GS2 flag: say so rather than "unknown".
        (other,) = (h for h in scram.GS2_HEADERS if h != final.gs2_header)
        if self._seal.open(other, final.client_nonce, final.server_nonce) is not None:
            raise AuthFailed("channel_binding_mismatch")
        raise AuthFailed("unknown_nonce")

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
        """End every admin session and void outstanding challenges (e.g. password change)."""
        count = self._tokens.revoke_all()
        self._seal.rotate()
        self._spent.clear()
        if count:
            log.info("revoked {} admin session(s)", count)

    def status(self) -> dict[str, Any]:
        """Penalty and counters for /health; contains no secrets."""
        now = self._now()
        self._apply_reset()
        self._tokens.purge(now)
        self._spent.purge(now)
        wait = self._penalty.delay(now)  # first: it forgets a count gone quiet
        return {
            "failures": self._penalty.failures,
            "penalty_seconds": wait,
            "active_sessions": len(self._tokens),
            "answered_challenges": len(self._spent),
        }

    def _apply_reset(self) -> None:
        if self._reset is not None and self._reset.fired():
            log.warning("admin auth penalty cleared by an administrator (auth-reset)")
            self._penalty.reset()

    def _require_secret(self) -> StoredSecret:
        try:
            secret = self._load_secret()
        except SecretFileError as exc:
            log.error("admin secret unusable: {}", exc.reason)
            raise
        if secret is None:
            self._forget_key()
            raise NotConfigured()
        fingerprint = hashlib.sha256(secret.salt + secret.stored_key).digest()
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

    def _fail(self, now: float) -> NoReturn:
        grown = self._penalty.record_failure(now)
        failures = self._penalty.failures
        wait = self._penalty.delay(now)
        log.warning("admin auth failed: bad_proof ({} consecutive)", failures)
        # Each growth, then each doubling of the count once the wait is capped: challenges are
        # stateless, so many can be answered at once and the cap alone does not stop guessing;
        # a long guessing run keeps being reported, a few times (logarithmically), never silent.
        if grown is not None or (wait and failures & (failures - 1) == 0):
            log.error("admin auth slowed: challenges wait {} s after {} failures", wait, failures)
            self._notify_penalty(failures, wait)
        raise AuthFailed("bad_proof", delay=wait)

    def _notify_penalty(self, failures: int, seconds: int) -> None:
        if self._on_penalty is None:
            return
        try:
            self._on_penalty(failures, seconds)
        except Exception:
            # A broken notifier must not turn a refused login into a server error.
            log.exception("admin auth penalty listener failed")
