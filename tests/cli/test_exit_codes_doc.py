"""docs/cli.md's exit-code table is the reference: the code and the --help texts agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from cli import service
from cli.exit_codes import EXIT_CODES_HELP, ExitCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def documented() -> dict[int, str]:
    section = DOC.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): text for code, text in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_every_exit_code_has_one_documented_meaning() -> None:
    table = documented()

    assert set(table) == {int(code) for code in ExitCode}
    names = ExitCode.__members__  # aliases included: two names for one code would show here
    assert len({int(code) for code in names.values()}) == len(names)


def test_help_epilogs_name_only_documented_codes() -> None:
    table = documented()
    for text in (EXIT_CODES_HELP, service.EXIT_CODES_HELP):
        for code in re.findall(r"(\d+) [a-z]", text.split(":", 1)[1]):
            assert int(code) in table, f"{code} in {text!r}"
