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
import hashlib
import hmac
import re
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass

from risk_manager.auth.errors import AuthFailed
from risk_manager.auth.passwords import StoredSecret

USER = "admin"
GS2_HEADERS = ("n,,", "y,,")  # no channel binding: the client has none, or thinks we have none
_SEAL = struct.Struct(">16sqq")  # random, not_before_ms, expires_ms
_MAC_BYTES = 16
SERVER_NONCE_CHARS = 4 * (_SEAL.size + _MAC_BYTES) // 3  # unpadded base64url of 48 bytes: 64
# RFC 5802: a nonce is printable ASCII except ','. Only user `admin`, no authzid: the canonical
# client-first-bare is what check_proof rebuilds, so nothing else can be accepted.
_NONCE = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,256}")
_SEALED = re.compile(f"[A-Za-z0-9_-]{{{SERVER_NONCE_CHARS}}}")
_EXTENSION = re.compile(r"[A-Za-z]=")
_BAD_ESCAPE = re.compile(r"=(?!2C|3D)")


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


def parse_client_first(message: str) -> tuple[str, str]:
    """(GS2 header, client nonce) of a client-first message; AuthFailed says what is wrong."""
    flag, _, rest = message.partition(",")
    authzid, comma, bare = rest.partition(",")
    if flag.startswith("p="):
        raise AuthFailed("channel_binding_unsupported")
    if flag not in ("n", "y") or authzid or not comma:
        raise AuthFailed("bad_request")
    user, nonce = _two_attributes(bare, "n", "r")
    if _BAD_ESCAPE.search(user):
        raise AuthFailed("bad_username")
    # "admin" needs no escaping, so its only spelling on the wire is the name itself.
    if user != USER:
        raise AuthFailed("unknown_user")
    if not _NONCE.fullmatch(nonce):
        raise AuthFailed("bad_request")
    return f"{flag},,", nonce


def parse_client_final(message: str) -> ClientFinal:
    """The parts of a client-final message; AuthFailed says what is wrong with it."""
    without_proof, _, proof_text = message.rpartition(",p=")
    binding, nonce = _two_attributes(without_proof, "c", "r")
    gs2, proof = _b64decode(binding), _b64decode(proof_text)
    if gs2 not in (header.encode() for header in GS2_HEADERS):
        raise AuthFailed("channel_binding_mismatch")
    # Only nonces of the shape we issue can be ours; the seal check says whether they are.
    if not _NONCE.fullmatch(nonce) or len(nonce) <= SERVER_NONCE_CHARS:
        raise AuthFailed("unknown_nonce")
    cut = len(nonce) - SERVER_NONCE_CHARS
    return ClientFinal(gs2.decode("ascii"), nonce[:cut], nonce[cut:], without_proof, proof)


def _two_attributes(text: str, first: str, second: str) -> tuple[str, str]:
    """The values of `first=...,second=...`; later attributes are extensions (refused)."""
    one, _, rest = text.partition(",")
    two, _, extra = rest.partition(",")
    if one.startswith("m="):  # RFC 5802 §5.1: the mandatory-extension slot
        raise AuthFailed("extensions")
    if not (one.startswith(f"{first}=") and two.startswith(f"{second}=")):
        raise AuthFailed("bad_request")
    if extra:
        raise AuthFailed("extensions" if _EXTENSION.match(extra) else "bad_request")
    return one[2:], two[2:]


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise AuthFailed("invalid_encoding") from None


def server_first(nonce: str, secret: StoredSecret) -> str:
    """The server-first message for a combined nonce and the stored verifier."""
    salt = base64.b64encode(secret.salt).decode("ascii")
    return f"r={nonce},s={salt},i={secret.iterations}"


def check_proof(secret: StoredSecret, final: ClientFinal, user: str = USER) -> str | None:
    """The server-final message (`v=` signature) when the proof is right, else None.

    RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage) must hash to StoredKey.
    """
    auth_message = ",".join(
        (f"n={user},r={final.client_nonce}", server_first(final.nonce, secret), final.without_proof)
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
    """Seals (not_before, expires) into a server nonce bound to the client's first message.

    The MAC covers the GS2 header too: RFC 5802 wants c= in the final message to repeat the
    header of the first one, and this is where the daemon still knows it.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def rotate(self) -> None:
        """A new key: every challenge issued so far stops verifying (password change, reset)."""
        self._key = secrets.token_bytes(32)

    def seal(self, gs2_header: str, client_nonce: str, not_before: float, expires_at: float) -> str:
        """A fresh server nonce (base64url, no padding, never a comma)."""
        body = _SEAL.pack(secrets.token_bytes(16), _ms(not_before), _ms(expires_at))
        raw = body + self._mac(gs2_header, client_nonce, body)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def open(
        self, gs2_header: str, client_nonce: str, server_nonce: str
    ) -> tuple[float, float] | None:
        """(not_before, expires_at) when this process sealed the nonce for that first message."""
        # Strictly the alphabet we emit: the lenient decoder would also take '+' for '-', so
        # two spellings of one nonce would open.
        if not _SEALED.fullmatch(server_nonce):
            return None
        raw = base64.urlsafe_b64decode(server_nonce)
        body, mac = raw[: _SEAL.size], raw[_SEAL.size :]
        if not hmac.compare_digest(mac, self._mac(gs2_header, client_nonce, body)):
            return None
        _, not_before, expires = _SEAL.unpack(body)
        return not_before / 1000, expires / 1000

    def _mac(self, gs2_header: str, client_nonce: str, body: bytes) -> bytes:
        message = f"{gs2_header}{client_nonce}".encode("utf-8", "surrogatepass") + b"\0" + body
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
