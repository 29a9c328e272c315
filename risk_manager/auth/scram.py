"""The daemon's side of SCRAM-SHA-256 (RFC 5802 / RFC 7677), holding nothing per challenge.

scramp (used by the CLI and to make the verifier) keeps a server object per exchange; a daemon
doing that must bound how many it keeps, and then anyone asking for challenges in a loop fills
the table and locks the admin out. Here the server nonce carries its own state instead: when it
may be answered and until when, sealed with an HMAC under a key that lives only in this process.
Everything else the proof check needs (client-first-bare, server-first) is rebuilt from the
nonce and the stored verifier. Only answered nonces are remembered (to refuse replays), until
they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass

from risk_manager.auth.passwords import StoredSecret

USER = "admin"
_SEAL = struct.Struct(">16sqq")  # random, not_before_ms, expires_ms
_MAC_BYTES = 16
SERVER_NONCE_CHARS = 4 * (_SEAL.size + _MAC_BYTES) // 3  # unpadded base64url of 48 bytes: 64
# RFC 5802: a nonce is printable ASCII except ','. Only user `admin`, no channel binding, no
# authzid, no extensions: the canonical message is what the checker rebuilds, so nothing else.
_CLIENT_FIRST = re.compile(r"([ny]),,n=admin,r=([\x21-\x2b\x2d-\x7e]{1,256})")
_CLIENT_FINAL = re.compile(r"(c=([A-Za-z0-9+/=]+),r=([\x21-\x2b\x2d-\x7e]+)),p=([A-Za-z0-9+/=]+)")


@dataclass(frozen=True, slots=True)
class ClientFinal:
    """A parsed client-final message."""

    gs2_header: str
    client_nonce: str
    server_nonce: str
    without_proof: str
    proof: bytes

    @property
    def nonce(self) -> str:
        return self.client_nonce + self.server_nonce


def parse_client_first(message: str) -> tuple[str, str] | None:
    """(gs2 header, client nonce) of a canonical client-first message, else None."""
    found = _CLIENT_FIRST.fullmatch(message)
    return (f"{found[1]},,", found[2]) if found else None


def parse_client_final(message: str) -> ClientFinal | None:
    """The parts of a client-final message whose nonce has the shape we issue, else None."""
    found = _CLIENT_FINAL.fullmatch(message)
    if not found:
        return None
    try:
        gs2 = base64.b64decode(found[2], validate=True).decode("ascii")
        proof = base64.b64decode(found[4], validate=True)
    except (binascii.Error, UnicodeDecodeError):
        return None
    nonce = found[3]
    if gs2 not in ("n,,", "y,,") or len(nonce) <= SERVER_NONCE_CHARS:
        return None
    cut = len(nonce) - SERVER_NONCE_CHARS
    return ClientFinal(gs2, nonce[:cut], nonce[cut:], found[1], proof)


def server_first(nonce: str, secret: StoredSecret) -> str:
    """The server-first message for a combined nonce and the stored verifier."""
    salt = base64.b64encode(secret.salt).decode("ascii")
    return f"r={nonce},s={salt},i={secret.iterations}"


def check_proof(secret: StoredSecret, final: ClientFinal) -> str | None:
    """The server-final message (`v=` signature) when the proof is right, else None.

    RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage) must hash to StoredKey.
    """
    auth_message = ",".join(
        (f"n={USER},r={final.client_nonce}", server_first(final.nonce, secret), final.without_proof)
    ).encode("utf-8")
    signature = hmac.digest(secret.stored_key, auth_message, "sha256")
    if len(final.proof) != len(signature):
        return None
    client_key = bytes(a ^ b for a, b in zip(final.proof, signature, strict=True))
    if not hmac.compare_digest(hashlib.sha256(client_key).digest(), secret.stored_key):
        return None
    server_signature = hmac.digest(secret.server_key, auth_message, "sha256")
    return "v=" + base64.b64encode(server_signature).decode("ascii")


class NonceSeal:
    """Seals (not_before, expires) into a server nonce bound to the client nonce; checks it."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def rotate(self) -> None:
        """A new key: every challenge issued so far stops verifying (password change, reset)."""
        self._key = secrets.token_bytes(32)

    def seal(self, client_nonce: str, not_before: float, expires_at: float) -> str:
        """A fresh server nonce (base64url, no padding, never a comma)."""
        body = _SEAL.pack(secrets.token_bytes(16), _ms(not_before), _ms(expires_at))
        raw = body + self._mac(client_nonce, body)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def open(self, client_nonce: str, server_nonce: str) -> tuple[float, float] | None:
        """(not_before, expires_at) when this process sealed the nonce for that client nonce."""
        try:
            raw = base64.urlsafe_b64decode(server_nonce + "=" * (-len(server_nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        body, mac = raw[: _SEAL.size], raw[_SEAL.size :]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, self._mac(client_nonce, body)):
            return None
        _, not_before, expires = _SEAL.unpack(body)
        return not_before / 1000, expires / 1000

    def _mac(self, client_nonce: str, body: bytes) -> bytes:
        message = client_nonce.encode("utf-8", "surrogatepass") + b"\0" + body
        return hmac.digest(self._key, message, "sha256")[:_MAC_BYTES]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class SpentNonces:
    """Answered nonces, kept until their own expiry so a replay is refused and named."""

    def __init__(self) -> None:
        self._until: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._until)

    def spend(self, nonce: str, expires_at: float, now: float) -> bool:
        """Record a first answer; False when the nonce was answered before."""
        self.purge(now)
        digest = hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).digest()
        if digest in self._until:
            return False
        self._until[digest] = expires_at
        return True

    def purge(self, now: float) -> None:
        # Roughly expiry order (waits differ a little); a late entry only lingers a while.
        while self._until and next(iter(self._until.values())) <= now:
            self._until.popitem(last=False)

    def clear(self) -> None:
        self._until.clear()
