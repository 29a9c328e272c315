"""Lay out a Linux install the way an administrator would, for tests that run as other users.

The test's own interpreter and virtualenv may sit where other users cannot reach them (a home
folder, a root-only CI checkout), so the runtime is copied: the project's packages and the
installed files of every runtime dependency go into a fresh root-owned, world-readable folder,
and a system interpreter with the same ABI runs them with that folder on PYTHONPATH.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import stat
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "risk-manager"
SOURCES = ("risk_manager", "cli")


def runtime_distributions(name: str = PROJECT) -> set[str]:
    """The project's runtime dependency closure (extras such as `test` left out)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower()
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def copy_runtime(site: Path) -> None:
    """Copy the project's sources and its dependencies' installed files into `site`."""
    for package in SOURCES:
        shutil.copytree(
            ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in sorted(runtime_distributions() - {PROJECT}):
        dist = metadata.distribution(name)
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts outside site-packages; bytecode is rebuilt
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(dist.locate_file(file))), target)


def make_world_readable(top: Path) -> None:
    """Root keeps ownership; everyone may read and traverse, nobody else may write."""
    for path in [top, *top.rglob("*")]:
        extra = stat.S_IRGRP | stat.S_IROTH
        if path.is_dir() or os.access(path, os.X_OK):
            extra |= stat.S_IXGRP | stat.S_IXOTH
        mode = stat.S_IMODE(path.lstat().st_mode)
        path.chmod((mode | extra) & ~(stat.S_IWGRP | stat.S_IWOTH))


def reachable_by_others(path: Path) -> bool:
    """Whether a user with no special rights can run `path` (every parent traversable)."""
    path = path.resolve()
    parents_ok = all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)
    return parents_ok and path.stat().st_mode & stat.S_IXOTH != 0


def shared_interpreter() -> str | None:
    """An interpreter other users can run that loads this environment's compiled modules."""
    candidates = [Path(sys.executable), Path("/usr/bin/python3"), Path("/usr/local/bin/python3")]
    tag = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in candidates:
        # Same minor version: the copied extension modules (pydantic-core, psutil) load.
        if (
            candidate.exists()
            and reachable_by_others(candidate)
            and candidate.resolve().name.startswith(tag)
        ):
            return str(candidate)
    return None
