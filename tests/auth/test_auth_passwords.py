"""Password strength, scrypt derivation and the secret file."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from risk_manager.auth import SecretFileError
from risk_manager.auth.passwords import (
    SecretFileWatcher,
    StoredSecret,
    check_strength,
    derive_key,
    hash_password,
    load_secret,
    save_secret,
    verify_password,
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


def test_hash_password_derives_stored_key(password: str, secret: StoredSecret) -> None:
    assert len(secret.salt) == 16
    assert (secret.n, secret.r, secret.p, secret.dklen) == (2**10, 8, 1, 32)
    assert secret.key == derive_key(password, secret.salt, 2**10, 8, 1, 32)
    assert verify_password(secret, password)
    assert not verify_password(secret, password + "x")


def test_salts_differ_between_hashes(password: str) -> None:
    first, second = hash_password(password, n=2**4), hash_password(password, n=2**4)

    assert first.salt != second.salt
    assert first.key != second.key


def test_derive_key_normalises_unicode() -> None:
    composed, decomposed = "Caf\u00e9-password-1", "Cafe\u0301-password-1"

    assert derive_key(composed, b"s" * 16, 16, 8, 1, 32) == derive_key(
        decomposed, b"s" * 16, 16, 8, 1, 32
    )


@pytest.mark.parametrize(
    ("n", "r", "p", "dklen"), [(1000, 8, 1, 32), (1, 8, 1, 32), (16, 0, 1, 32), (16, 8, 0, 32),
                              (16, 8, 1, 8), (2**24, 8, 1, 32)]
)  # fmt: skip
def test_derive_key_rejects_bad_params(n: int, r: int, p: int, dklen: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        derive_key("whatever-1234", b"s" * 16, n, r, p, dklen)


def test_hash_password_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_secret_file_round_trip(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "secrets" / "admin.json"

    save_secret(path, secret)

    assert load_secret(path) == secret
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert doc["salt"] == secret.salt.hex()
    assert "password" not in path.read_text().lower()
    assert [p.name for p in path.parent.iterdir()] == ["admin.json"]  # no temp file left


def test_secret_overwrite_is_atomic_replace(tmp_path: Path, secret: StoredSecret) -> None:
    path = tmp_path / "admin.json"
    save_secret(path, hash_password("First-password-1", n=2**4))

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


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[]",
        '{"version": 2}',
        '{"version": 1, "salt": "zz", "n": 16, "r": 8, "p": 1, "dklen": 32, "key": "00"}',
        '{"version": 1, "salt": "00", "n": 16, "r": 8, "p": 1, "dklen": 32, "key": "00"}',
        '{"version": 1, "salt": "' + "00" * 16 + '", "n": 15, "r": 8, "p": 1, "dklen": 32, '
        '"key": "' + "00" * 32 + '"}',
        '{"version": 1, "salt": "' + "00" * 16 + '", "n": 16, "r": true, "p": 1, "dklen": 32, '
        '"key": "' + "00" * 32 + '"}',
        '{"version": 1, "salt": "' + "00" * 16 + '", "n": 16, "r": 8, "p": 1, "dklen": 32, '
        '"key": "' + "00" * 31 + '"}',
    ],
)
def test_corrupt_secret_file_raises_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "admin.json"
    path.write_text(content)

    with pytest.raises(SecretFileError) as bad:
        load_secret(path)

    assert "run risk-admin set-password" in bad.value.message
    assert bad.value.code == "admin_secret_corrupt"


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

    other = hash_password("Second-password-2", n=2**4)
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
