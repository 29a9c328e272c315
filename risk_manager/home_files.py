"""The daemon's home on disk: the config on first run, the one-daemon lock, atomic writes."""

from __future__ import annotations

import errno
import os
import sys
from importlib import resources
from pathlib import Path
from typing import IO

from loguru import logger

from risk_manager.exit_codes import StartupError
from risk_manager.paths import HomePaths


def ensure_config(paths: HomePaths, config_path: Path | None) -> Path:
    """The config file to use; on first run write the commented example into the home."""
    if config_path is not None:
        return config_path
    if not paths.config_file.exists():
        example = resources.files("risk_manager").joinpath("example_config.toml")
        paths.config_file.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
        logger.info("First run: wrote the example configuration to {}", paths.config_file)
    return paths.config_file


def write_atomic(path: Path, text: str) -> None:
    """Replace a small file whole (temp file + rename); on failure the old one stays."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a partial file would only hold space a full disk lacks
        raise


def write_marker(path: Path, text: str) -> None:
    """Write a file others only read for convenience (PID, API URL): a full or read-only
    disk costs the file, never the daemon."""
    try:
        write_atomic(path, text)
    except OSError as error:
        logger.warning("Cannot write {}: {}", path, error.strerror or error)


def lock_home(paths: HomePaths) -> IO[str]:
    """Hold an OS lock on the home for the life of the process (released even by kill -9)."""
    lock_file = paths.state_dir / "daemon.lock"
    try:
        handle = lock_file.open("a+")
    except OSError as error:
        if error.errno != errno.EROFS or not lock_file.exists():
            raise
        handle = lock_file.open()  # a read-only file system: a lock needs no write access
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        pid = paths.pid_file.read_text().strip() if paths.pid_file.exists() else "?"
        raise StartupError(f"another daemon already uses {paths.home} (PID {pid})") from None
    return handle
