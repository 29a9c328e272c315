"""Exec a command under the systemd unit's seccomp settings, rebuilt with libseccomp.

Run by the system interpreter (Debian's python3-seccomp), so it needs nothing from the project:

    python3 sandbox_exec.py UNIT_FILE PROGRAM ARGS...

It reads SystemCallFilter=, SystemCallErrorNumber= and MemoryDenyWriteExecute= from the unit,
expands the syscall groups exactly as this machine's systemd defines them
(`systemd-analyze syscall-filter`), loads the filter and execs PROGRAM (same PID), which runs
under it like the service would. Without systemd as PID 1 this is the closest stand-in.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import subprocess
import sys

import seccomp  # type: ignore[import-not-found]


def syscall_groups() -> dict[str, list[str]]:
    """Group name -> members (syscalls or other @groups), from systemd itself."""
    text = subprocess.run(
        ["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        item = line.strip()
        if line.startswith("@"):
            current = groups.setdefault(item, [])
        elif item and not item.startswith("#"):
            current.append(item)
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    for name in names:
        found |= expand(groups[name], groups) if name.startswith("@") else {name}
    return found


def unit_values(path: str, key: str) -> list[str]:
    with open(path, encoding="utf-8") as unit:
        return [line.split("=", 1)[1].strip() for line in unit if line.startswith(f"{key}=")]


def build_filter(unit: str) -> seccomp.SyscallFilter:
    groups = syscall_groups()
    allowed: set[str] = set()
    for value in unit_values(unit, "SystemCallFilter"):
        # systemd: the first line sets an allow list; a later "~" line removes from it.
        if value.startswith("~"):
            allowed -= expand(value[1:].split(), groups)
        else:
            allowed |= expand(value.split(), groups)
    number = unit_values(unit, "SystemCallErrorNumber")
    refuse = seccomp.ERRNO(getattr(errno, number[-1])) if number else seccomp.KILL_PROCESS
    rules = seccomp.SyscallFilter(defaction=refuse)
    guarded: dict[str, tuple[int, list[int]]] = {}
    if unit_values(unit, "MemoryDenyWriteExecute") == ["true"]:
        # systemd's rules: no writable+executable mapping, no turning memory executable later.
        # libseccomp wants the allowed cases spelled out (a rule may not repeat the default).
        wx, x = mmap.PROT_WRITE | mmap.PROT_EXEC, mmap.PROT_EXEC
        guarded = {name: (wx, [0, mmap.PROT_WRITE, x]) for name in ("mmap", "mmap2")}
        guarded |= {name: (x, [0]) for name in ("mprotect", "pkey_mprotect")}
    for name in sorted(allowed):
        mask, values = guarded.get(name, (0, []))
        conditions = [[seccomp.Arg(2, seccomp.MASKED_EQ, mask, v)] for v in values] or [[]]
        for condition in conditions:
            # RuntimeError / ValueError: not a system call on this architecture.
            with contextlib.suppress(RuntimeError, ValueError):
                rules.add_rule(seccomp.ALLOW, name, *condition)
    return rules


def main() -> None:
    unit, program = sys.argv[1], sys.argv[2:]
    build_filter(unit).load()
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
