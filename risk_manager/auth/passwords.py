"""The admin password at rest: strength check, SCRAM-SHA-256 verifier, and the secret file.

The file holds what RFC 5802 calls the verifier: salt, iteration count, StoredKey = H(ClientKey)
and ServerKey. Neither logs in: a client proof needs ClientKey, which only the password gives,
and ServerKey only lets the daemon sign its answers (see session.py and cli/admin_auth.py).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scramp import ScramException, ScramMechanism

from risk_manager.auth.errors import OutdatedSecret, SecretFileError

MECHANISM = "SCRAM-SHA-256"
SECRET_VERSION = 2
# Version 1 stored an scrypt key that was itself the login credential; it cannot be converted.
LEGACY_VERSIONS = frozenset({1})
SALT_BYTES = 16
KEY_BYTES = 32
# PBKDF2-HMAC-SHA256 cost (OWASP's figure): the daemon never computes it, only the client does,
# once per login. The CLI refuses to answer a challenge asking for fewer (see cli/admin_auth.py).
DEFAULT_ITERATIONS = 600_000
MIN_CLIENT_ITERATIONS = DEFAULT_ITERATIONS
# The file may hold cheaper verifiers (tests); RFC 7677's floor and a bound on client work.
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 10_000_000
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

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
    """What secrets/admin.json holds: the SCRAM-SHA-256 verifier, never the password."""

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)
    version: int = SECRET_VERSION

    def to_json(self) -> dict[str, Any]:
        """The JSON document written to disk (bytes as base64, as SCRAM messages carry them)."""
        return {
            "version": self.version,
            "mechanism": MECHANISM,
            "salt": _b64(self.salt),
            "iterations": self.iterations,
            "stored_key": _b64(self.stored_key),
            "server_key": _b64(self.server_key),
        }

    @classmethod
    def from_json(cls, doc: Any) -> StoredSecret:
        """Parse and validate a document from to_json(); ValueError says what is wrong."""
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("version") != SECRET_VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        if doc.get("mechanism") != MECHANISM:
            raise ValueError(f"unsupported mechanism {doc.get('mechanism')!r}")
        iterations = doc.get("iterations")
        # bool is an int subclass; `true` in the file is corruption, not 1 iteration.
        if not isinstance(iterations, int) or isinstance(iterations, bool):
            raise ValueError("iterations must be an integer")
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be in {MIN_ITERATIONS}..{MAX_ITERATIONS}")
        salt = _b64_field(doc, "salt")
        if len(salt) < SALT_BYTES:
            raise ValueError(f"salt shorter than {SALT_BYTES} bytes")
        stored_key, server_key = _b64_field(doc, "stored_key"), _b64_field(doc, "server_key")
        if len(stored_key) != KEY_BYTES or len(server_key) != KEY_BYTES:
            raise ValueError(f"stored_key and server_key must be {KEY_BYTES} bytes")
        return cls(salt, iterations, stored_key, server_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_field(doc: dict[str, Any], name: str) -> bytes:
    value = doc.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError(f"{name} is not valid base64") from None


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


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> StoredSecret:
    """The verifier for `password` with a fresh random salt; callers run check_strength() first.

    ValueError when the password is empty or SASLprep (RFC 4013) forbids one of its characters.
    """
    if not password:
        raise ValueError("password is empty")
    try:
        salt, stored_key, server_key, _ = ScramMechanism(MECHANISM).make_auth_info(
            password, iteration_count=iterations, salt=os.urandom(SALT_BYTES)
        )
    except ScramException as exc:
        raise ValueError(f"password cannot be used: {exc}") from None
    return StoredSecret(
        salt=bytes(salt), iterations=iterations, stored_key=stored_key, server_key=server_key
    )


def save_secret(path: Path, secret: StoredSecret) -> None:
    """Write the secret atomically (temp file + os.replace), mode 0600 on POSIX."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps(secret.to_json(), indent=2).encode("utf-8") + b"\n"
    # mkstemp creates the file 0600 before any byte is written: never readable by others.
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
        doc = json.loads(raw)
        if isinstance(doc, dict) and doc.get("version") in LEGACY_VERSIONS:
            raise OutdatedSecret(path)
        return StoredSecret.from_json(doc)
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
