"""A real, tiny file system to fill: a 2 MB tmpfs (needs root; tests skip without it)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SIZE = "2m"


@contextlib.contextmanager
def small_disk() -> Iterator[Path]:
    """Mount a fresh 2 MB tmpfs for the block; always unmounted afterwards."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a 2 MB tmpfs needs root on Linux")
    where = Path(tempfile.mkdtemp(prefix="small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # Until even one page more is refused (space freed meanwhile by a closing file is
        # taken too), then byte by byte: no write of any size fits anywhere.
        for _ in range(100):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * 65536):
                    pass
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                break
        else:
            raise AssertionError(f"{disk} keeps taking writes")
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0"):
                pass
    finally:
        os.close(fd)
    return filler


def remount(disk: Path, mode: str) -> bool:
    """Remount `ro` or `rw`; False when the kernel refuses (e.g. files open for writing)."""
    done = subprocess.run(
        ["mount", "-o", f"remount,{mode}", str(disk)], capture_output=True, check=False
    )
    return done.returncode == 0
