"""The admin password at rest: strength check, scrypt derivation, and the secret file.

Only the scrypt-derived key K is stored, never the password. The daemon proves nothing with
the password itself; it verifies HMAC-SHA256(K, nonce) sent by the client (see session.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from risk_manager.auth.errors import SecretFileError

SECRET_VERSION = 1
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# A hostile or mistyped file must not make derivation eat the machine: cap 128*n*r bytes.
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024

_COMMON_PASSWORDS = frozenset(
    {
        "password", "passw0rd", "p@ssw0rd", "password1", "password123", "123456789",
        "1234567890", "12345678910", "0123456789", "qwertyuiop", "qwerty123", "1q2w3e4r5t",
        "letmein", "welcome", "welcome1", "iloveyou", "trustno1", "changeme", "admin",
        "administrator", "admin123", "adminadmin", "abc123456", "abcdefghij", "aaaaaaaaaa",
        "monkey", "dragon", "football", "baseball", "sunshine", "princess", "superman",
        "riskmanager", "risk-manager", "trader", "trading", "futures", "daytrader",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredSecret:
    """What secrets/admin.json holds: scrypt parameters, salt and the derived key K."""

    salt: bytes
    n: int
    r: int
    p: int
    dklen: int
    key: bytes = field(repr=False)
    version: int = SECRET_VERSION

    def to_json(self) -> dict[str, Any]:
        """The JSON document written to disk (bytes as lowercase hex)."""
        return {
            "version": self.version,
            "kdf": "scrypt",
            "salt": self.salt.hex(),
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "dklen": self.dklen,
            "key": self.key.hex(),
        }

    @classmethod
    def from_json(cls, doc: Any) -> StoredSecret:
        """Parse and validate a document from to_json(); ValueError says what is wrong."""
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("version") != SECRET_VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        if doc.get("kdf", "scrypt") != "scrypt":
            raise ValueError(f"unsupported kdf {doc.get('kdf')!r}")
        ints = {}
        for name in ("n", "r", "p", "dklen"):
            value = doc.get(name)
            # bool is an int subclass; `true` in the file is corruption, not r=1.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer")
            ints[name] = value
        validate_params(**ints)
        salt = _hex_field(doc, "salt")
        key = _hex_field(doc, "key")
        if len(salt) < SALT_BYTES:
            raise ValueError(f"salt shorter than {SALT_BYTES} bytes")
        if len(key) != ints["dklen"]:
            raise ValueError("key length does not match dklen")
        return cls(salt=salt, key=key, **ints)


def _hex_field(doc: dict[str, Any], name: str) -> bytes:
    value = doc.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{name} is not valid hex") from None


def validate_params(n: int, r: int, p: int, dklen: int) -> None:
    """Raise ValueError unless the scrypt parameters are sane and bounded in memory."""
    if n < 2 or n & (n - 1):
        raise ValueError("n must be a power of two >= 2")
    if not 1 <= r <= 32:
        raise ValueError("r must be in 1..32")
    if not 1 <= p <= 16:
        raise ValueError("p must be in 1..16")
    if not 16 <= dklen <= 64:
        raise ValueError("dklen must be in 16..64")
    if 128 * n * r > MAX_SCRYPT_MEMORY:
        raise ValueError("n * r needs more memory than allowed")


def check_strength(password: str) -> list[str]:
    """Reasons the password is too weak to protect admin actions; empty list means acceptable."""
    if not password:
        return ["password is empty"]
    reasons = []
    if len(password) < MIN_PASSWORD_LENGTH:
        reasons.append(
            f"password is {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        reasons.append(f"password is longer than {MAX_PASSWORD_LENGTH} characters")
    classes = {_char_class(ch) for ch in password}
    if len(classes) == 1:
        reasons.append("password uses one kind of character only; mix letters, digits or symbols")
    lowered = password.lower()
    # "Password2024!" is still "password": strip the decoration people append to common words.
    stem = lowered.rstrip("0123456789!@#$%^&*.?-_ ")
    if lowered in _COMMON_PASSWORDS or stem in _COMMON_PASSWORDS:
        reasons.append("password is a common password; choose something less guessable")
    return reasons


def _char_class(ch: str) -> str:
    if ch.islower():
        return "lower"
    if ch.isupper():
        return "upper"
    if ch.isdigit():
        return "digit"
    return "other"


def derive_key(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """K = scrypt(NFC(password) as UTF-8, salt, n, r, p, dklen); the CLI computes the same."""
    validate_params(n, r, p, dklen)
    # NFC so the same password typed on different keyboards/OSes gives the same bytes.
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> StoredSecret:
    """A fresh random salt and the derived key; callers run check_strength() first."""
    if not password:
        raise ValueError("password is empty")
    dklen = 32
    salt = secrets.token_bytes(SALT_BYTES)
    key = derive_key(password, salt, n, r, p, dklen)
    return StoredSecret(salt=salt, n=n, r=r, p=p, dklen=dklen, key=key)


def verify_password(secret: StoredSecret, password: str) -> bool:
    """Whether `password` derives the stored key (constant-time comparison)."""
    key = derive_key(password, secret.salt, secret.n, secret.r, secret.p, secret.dklen)
    return hmac.compare_digest(key, secret.key)


def save_secret(path: Path, secret: StoredSecret) -> None:
    """Write the secret atomically (temp file + os.replace), mode 0600 on POSIX."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps(secret.to_json(), indent=2).encode("utf-8") + b"\n"
    # mkstemp creates the file 0600 before any byte is written, so K is never world-readable.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        if sys.platform != "win32":
            os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable across a power cut; directories cannot be opened on Windows.
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load_secret(path: Path) -> StoredSecret | None:
    """The stored secret, None when no password is set; SecretFileError when the file is bad."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        return StoredSecret.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise SecretFileError(path, str(exc)) from exc


class SecretFileWatcher:
    """A loader for AdminAuth that rereads the file only when its stat signature changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._signature: tuple[int, int, int] | None = None
        self._secret: StoredSecret | None = None

    def __call__(self) -> StoredSecret | None:
        """The current secret; a password set while the daemon runs is picked up here."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._signature, self._secret = None, None
            return None
        except OSError as exc:
            raise SecretFileError(self.path, f"cannot stat: {exc.strerror or exc}") from exc
        # os.replace gives a new inode, so this catches a rewrite within one mtime tick too.
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature != self._signature:
            secret = load_secret(self.path)
            self._signature, self._secret = signature, secret
        return self._secret
