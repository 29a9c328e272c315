"""Password strength, the SCRAM-SHA-256 verifier and the secret file."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from scramp import ScramMechanism

from risk_manager.auth import OutdatedSecret, SecretFileError
from risk_manager.auth.passwords import (
    DEFAULT_ITERATIONS,
    SecretFileWatcher,
    StoredSecret,
    check_strength,
    hash_password,
    load_secret,
    save_secret,
)


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("", "empty"),
        ("Ab1!", "at least 10"),
        ("abcdefghijklmnop", "one kind of character"),
        ("12345678901234", "one kind of character"),
        ("Password", "common"),
        ("Password2024!", "common"),
        ("Qwertyuiop", "common"),
    ],
)
def test_weak_passwords_refused_with_reason(password: str, fragment: str) -> None:
    reasons = check_strength(password)

    assert any(fragment in reason for reason in reasons), reasons


@pytest.mark.parametrize(
    "password", ["Correct-Horse-42", "tr4der on the ES open", "日本語のパスワード123"]
)
def test_reasonable_passwords_accepted(password: str) -> None:
    assert check_strength(password) == []


def test_hash_password_gives_the_rfc_5802_verifier(password: str, secret: StoredSecret) -> None:
    _, stored_key, server_key, _ = ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, iteration_count=secret.iterations, salt=secret.salt
    )

    assert len(secret.salt) == 16
    assert (secret.stored_key, secret.server_key) == (stored_key, server_key)
    assert hash_password(password, iterations=4096).stored_key != stored_key  # fresh salt


def test_default_iteration_count_is_owasp_figure() -> None:
    assert hash_password("Correct-Horse-42").iterations == DEFAULT_ITERATIONS == 600_000


def test_password_saslprep_forbids_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="cannot be used"):
        hash_password("bell\u0007-character-1", iterations=4096)


def test_hash_password_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_secret_file_round_trip(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "secrets" / "admin.json"

    save_secret(path, secret)

    assert load_secret(path) == secret
    doc = json.loads(path.read_text())
    assert (doc["version"], doc["mechanism"]) == (2, "SCRAM-SHA-256")
    assert base64.b64decode(doc["salt"]) == secret.salt
    assert set(doc) == {"version", "mechanism", "salt", "iterations", "stored_key", "server_key"}
    assert [p.name for p in path.parent.iterdir()] == ["admin.json"]  # no temp file left


def test_secret_overwrite_is_atomic_replace(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    save_secret(path, hash_password("First-password-1", iterations=4096))

    save_secret(path, secret)

    assert load_secret(path) == secret


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_secret_file_mode_is_0600(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    path.write_text("{}")
    path.chmod(0o644)

    save_secret(path, secret)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_secret_file_means_not_set(tmp_path: Path) -> None:
    assert load_secret(tmp_path / "admin.json") is None


_SALT = base64.b64encode(b"s" * 16).decode()
_KEY = base64.b64encode(b"k" * 32).decode()


def _doc(**changes: object) -> str:
    doc = {"version": 2, "mechanism": "SCRAM-SHA-256", "salt": _SALT, "iterations": 4096,
           "stored_key": _KEY, "server_key": _KEY}  # fmt: skip
    return json.dumps(doc | changes)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[]",
        '{"version": 3}',
        _doc(mechanism="SCRAM-SHA-1"),
        _doc(salt="not base64!"),
        _doc(salt=base64.b64encode(b"short").decode()),
        _doc(iterations=True),
        _doc(iterations=2),
        _doc(iterations=10**9),
        _doc(stored_key=base64.b64encode(b"k" * 31).decode()),
        _doc(server_key=None),
    ],
)
def test_corrupt_secret_file_raises_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "admin.json"
    path.write_text(content)

    with pytest.raises(SecretFileError) as bad:
        load_secret(path)

    assert "run risk-admin set-password" in bad.value.message
    assert bad.value.code == "admin_secret_corrupt"


def test_scrypt_file_of_the_previous_version_asks_for_set_password_again(tmp_path: Path) -> None:
    path = tmp_path / "admin.json"
    path.write_text(json.dumps({"version": 1, "kdf": "scrypt", "salt": "00" * 16, "n": 16384,
                                "r": 8, "p": 1, "dklen": 32, "key": "00" * 32}))  # fmt: skip

    with pytest.raises(OutdatedSecret) as old:
        load_secret(path)

    assert old.value.code == "admin_secret_outdated"
    assert "older version" in old.value.message
    assert "run risk-admin set-password again" in old.value.message


def test_binary_garbage_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "admin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")

    with pytest.raises(SecretFileError):
        load_secret(path)


def test_watcher_picks_up_password_set_later(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    watcher = SecretFileWatcher(path)
    assert watcher() is None

    save_secret(path, secret)
    assert watcher() == secret

    other = hash_password("Second-password-2", iterations=4096)
    save_secret(path, other)
    assert watcher() == other

    path.unlink()
    assert watcher() is None


def test_watcher_rereads_only_on_change(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    save_secret(path, secret)
    watcher = SecretFileWatcher(path)
    first = watcher()

    assert watcher() is first  # cached object, no reread


def test_watcher_recovers_after_corrupt_file_fixed(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    path.write_text("garbage")
    watcher = SecretFileWatcher(path)
    with pytest.raises(SecretFileError):
        watcher()

    save_secret(path, secret)
    later = time.time() + 5
    os.utime(path, (later, later))

    assert watcher() == secret
