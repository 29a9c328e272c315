"""A deleted, truncated or garbled state database: restored from the newest backup, never a
silent clean start; with nothing to restore, exit 4 with one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import lose_past_daily_limit
from tests.daemon_process import DaemonProcess

LOSS_PROFILE = "daily_realized_loss.limit = 100"


def _database(home: Path) -> Path:
    return home / "state" / "risk_manager.sqlite3"


def _delete(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _truncate_to_nothing(path: Path) -> None:
    path.write_bytes(b"")


def _garble(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(b"\x5a" * 4096)  # the header and the first page


def _identity(lockout: dict[str, Any]) -> tuple[Any, ...]:
    return lockout["id"], lockout["rule"], lockout["started_at"], lockout["until"]


@pytest.mark.parametrize("damage", [_delete, _truncate, _truncate_to_nothing, _garble])
def test_damaged_database_is_restored_from_backup_with_its_lockout(
    start_daemon: Callable[..., DaemonProcess], damage: Callable[[Path], None]
) -> None:
    daemon = start_daemon(LOSS_PROFILE)
    lose_past_daily_limit(daemon)
    locked = daemon.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    assert len(locked) == 1
    assert daemon.stop() == 0  # a clean stop takes a backup generation
    home = daemon.home
    damage(_database(home))

    again = start_daemon(home=home)

    health = again.get("/api/v1/health")
    assert health["state_restored"] is not None
    assert health["state_restored"]["backup"].startswith(str(home / "state" / "backups"))
    moved = Path(health["state_restored"]["moved_to"])
    assert moved.is_dir()
    restored = again.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
    assert [_identity(x) for x in restored] == [_identity(x) for x in locked]
    assert "The state database was" in again.output()


def test_a_first_run_starts_clean_without_a_word(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon(LOSS_PROFILE)

    assert daemon.get("/api/v1/health")["state_restored"] is None


def _restart_without_backups(
    start_daemon: Callable[..., DaemonProcess], damage: Callable[[Path], None]
) -> subprocess.CompletedProcess[str]:
    """A home that has run, its backups gone and its database damaged, started again."""
    daemon = start_daemon(LOSS_PROFILE)
    assert daemon.stop() == 0
    home = daemon.home
    for backup in (home / "state" / "backups").iterdir():
        backup.unlink()
    damage(_database(home))
    return subprocess.run(
        [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_damaged_database_without_backup_exits_4_with_one_line(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    result = _restart_without_backups(start_daemon, _garble)

    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "cannot start" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert "risk_manager.sqlite3" in errors[0]
    assert "no sound backup" in errors[0]


def test_deleted_database_without_backup_never_starts_clean(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    result = _restart_without_backups(start_daemon, _delete)

    assert result.returncode == 4, result.stderr
    assert "is missing" in result.stderr
