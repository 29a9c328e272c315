"""Refuse to register a service whose code a non-administrator could replace.

The service runs as LocalSystem, so python.exe, every folder on its import path and nssm.exe
must be writable by administrators only: a per-user Python, a venv in a profile, or an old
`C:\\PythonXY` that grants Authenticated Users "Modify" would hand SYSTEM to the trader.
The decision is made on plain data (owner and ACEs); reading a real ACL is Windows-only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import PureWindowsPath

# Trustees allowed to write: SYSTEM, Administrators, TrustedInstaller, and CREATOR OWNER (whose
# ACE only ever applies to the owner of a new object, checked as the owner of that object).
TRUSTED_SIDS = frozenset(
    {
        "S-1-5-18",
        "S-1-5-32-544",
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        "S-1-3-0",
    }
)
# Rights that let a holder replace a file or a folder's contents, or grant themselves that.
FILE_WRITE_DATA = 0x2  # also FILE_ADD_FILE on a folder
FILE_APPEND_DATA = 0x4  # also FILE_ADD_SUBDIRECTORY
FILE_DELETE_CHILD = 0x40
DELETE = 0x10000
WRITE_DAC = 0x40000
WRITE_OWNER = 0x80000
GENERIC_ALL = 0x10000000
GENERIC_WRITE = 0x40000000
WRITE_RIGHTS = (
    FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_DELETE_CHILD
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | GENERIC_ALL
    | GENERIC_WRITE
)
INHERIT_ONLY_ACE = 0x8
ACCESS_ALLOWED_ACE_TYPE = 0


@dataclass(frozen=True, slots=True)
class Ace:
    sid: str
    mask: int
    ace_type: int = ACCESS_ALLOWED_ACE_TYPE
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Security:
    """Owner SID and DACL of one file or folder (dacl None: a NULL DACL, everyone may write)."""

    owner: str
    dacl: tuple[Ace, ...] | None


def untrusted_writers(security: Security) -> list[str]:
    """SIDs other than the trusted ones that can write (an owner may always rewrite the DACL)."""
    writers: list[str] = []
    if security.owner not in TRUSTED_SIDS:
        writers.append(security.owner)
    if security.dacl is None:
        return [*writers, "S-1-1-0"]  # NULL DACL: Everyone
    for ace in security.dacl:
        applies = ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and not ace.flags & INHERIT_ONLY_ACE
        if applies and ace.mask & WRITE_RIGHTS and ace.sid not in TRUSTED_SIDS:
            writers.append(ace.sid)
    return list(dict.fromkeys(writers))


def paths_to_check(
    python: PureWindowsPath, import_path: list[str], nssm: PureWindowsPath
) -> list[str]:
    """python.exe, nssm.exe, the folders holding them, and every import-path folder."""
    found = [str(python), str(python.parent), str(nssm), str(nssm.parent)]
    found.extend(entry for entry in import_path if entry)
    return list(dict.fromkeys(found))


def import_path_of(python: PureWindowsPath) -> list[str]:
    """sys.path of the interpreter the service will run, in the same isolated mode."""
    script = "import json, sys; print(json.dumps(sys.path))"
    result = subprocess.run(
        [str(python), "-I", "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return [str(entry) for entry in json.loads(result.stdout)]


def read_security(path: str) -> Security | None:
    """Owner and DACL of `path` (Windows, pywin32); None when the path does not exist."""
    if sys.platform != "win32":
        raise OSError("reading Windows ACLs needs Windows")
    import os

    import win32security

    if not os.path.exists(path):
        return None
    info = win32security.OWNER_SECURITY_INFORMATION | win32security.DACL_SECURITY_INFORMATION
    descriptor = win32security.GetNamedSecurityInfo(path, win32security.SE_FILE_OBJECT, info)
    owner = win32security.ConvertSidToStringSid(descriptor.GetSecurityDescriptorOwner())
    dacl = descriptor.GetSecurityDescriptorDacl()
    if dacl is None:
        return Security(owner, None)
    aces = []
    for index in range(dacl.GetAceCount()):
        (ace_type, flags), mask, sid = dacl.GetAce(index)[:3]
        aces.append(Ace(win32security.ConvertSidToStringSid(sid), mask, ace_type, flags))
    return Security(owner, tuple(aces))


def problems(python: PureWindowsPath, nssm: PureWindowsPath) -> list[str]:
    """One sentence per path a non-administrator could write (Windows only)."""
    found: list[str] = []
    for path in paths_to_check(python, import_path_of(python), nssm):
        security = read_security(path)
        if security is None:
            continue
        writers = untrusted_writers(security)
        if writers:
            found.append(f"{path} is writable by {', '.join(writers)}")
    return found


REFUSAL = (
    "refusing to register a LocalSystem service whose code non-administrators can change: {}. "
    "Install Python for all users (python.org installer, 'Install for all users', under "
    "C:\\Program Files) and the package from an elevated prompt with that Python's pip "
    "(`py -m pip install risk-manager[windows]`), then run install-daemon again"
)
