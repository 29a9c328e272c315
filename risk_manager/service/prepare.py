"""Install steps that are Python code: create the home, refuse links in it, copy nssm.exe.

The install plan runs them as `python.exe -I -m risk_manager.service.prepare ACTION …` from the
elevated prompt, so `install-daemon --dry-run` prints them like every other command and a
failure stops the plan (and rolls it back) like any other step.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
from pathlib import Path

FILE_ATTRIBUTE_REPARSE_POINT = 0x400
SUBDIRS = ("config", "state", "secrets", "logs")


class PrepareError(Exception):
    """The home or the program folder cannot be used safely; the message says why."""


def is_link(path: Path) -> bool:
    """True for a symlink, a junction or any other reparse point (never followed)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    attributes = getattr(info, "st_file_attributes", 0)  # Windows only
    return stat.S_ISLNK(info.st_mode) or bool(attributes & FILE_ATTRIBUTE_REPARSE_POINT)


def links_in(root: Path) -> list[Path]:
    """`root` itself when it is a link, else every link below it (links are not entered)."""
    if is_link(root):
        return [root]
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        found.extend(Path(folder, name) for name in (*dirs, *files) if is_link(Path(folder, name)))
        # os.walk of Python 3.11 would descend into a junction: prune every link here.
        dirs[:] = [name for name in dirs if not is_link(Path(folder, name))]
    return found


def refuse_links(home: Path) -> None:
    links = links_in(home)
    if links:
        shown = ", ".join(str(path) for path in links[:5])
        raise PrepareError(
            f"{home} contains links (junctions or symlinks): {shown}. A link lets whoever made it "
            "redirect what the service (LocalSystem) writes; delete them and run the install again"
        )


def create(home: Path, program_dir: Path) -> None:
    """Create the program folder and the home (or take over an existing one) with no links."""
    for folder in (program_dir, home):
        if is_link(folder):
            raise PrepareError(f"{folder} is a link (junction or symlink); refusing to use it")
        if folder.exists() and not folder.is_dir():
            raise PrepareError(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
    refuse_links(home)


def check(home: Path) -> None:
    """After the lock: create the subfolders and look again for links planted before it."""
    for name in SUBDIRS:
        (home / name).mkdir(exist_ok=True)
    refuse_links(home)


def copy_nssm(source: Path, target: Path) -> None:
    """Copy nssm.exe to `target` (atomically); nothing to do when it is already that file."""
    if not source.is_absolute() or not source.is_file():
        raise PrepareError(f"nssm.exe must be an existing absolute path, got {source}")
    if is_link(target.parent) or is_link(target):
        raise PrepareError(f"{target} or its folder is a link; refusing to write there")
    if target.exists() and os.path.samefile(source, target):
        return
    partial = target.with_name(target.name + ".new")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m risk_manager.service.prepare")
    actions = parser.add_subparsers(dest="action", required=True)
    create_cmd = actions.add_parser("create", help="create the program folder and the home")
    create_cmd.add_argument("home", type=Path)
    create_cmd.add_argument("program_dir", type=Path)
    check_cmd = actions.add_parser("check", help="create the subfolders; refuse links")
    check_cmd.add_argument("home", type=Path)
    copy_cmd = actions.add_parser("copy-nssm", help="copy nssm.exe under the program folder")
    copy_cmd.add_argument("source", type=Path)
    copy_cmd.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.action == "create":
            create(args.home, args.program_dir)
        elif args.action == "check":
            check(args.home)
        else:
            copy_nssm(args.source, args.target)
    except (PrepareError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
