"""Test helper: parse a Windows command line the way the MS C runtime does (the inverse of
to_cmdline), so quoting is checked by round trip rather than by comparing strings."""

from __future__ import annotations


def parse_cmdline(line: str) -> list[str]:
    """Split a command line into argv with the post-2008 MS CRT rules."""
    args: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return args
        arg: list[str] = []
        in_quotes = False
        while i < n and (in_quotes or line[i] not in " \t"):
            backslashes = 0
            while i < n and line[i] == "\\":
                backslashes += 1
                i += 1
            if i < n and line[i] == '"':
                arg.append("\\" * (backslashes // 2))
                if backslashes % 2:
                    arg.append('"')
                elif in_quotes and i + 1 < n and line[i + 1] == '"':
                    arg.append('"')  # "" inside quotes is a literal quote
                    i += 1
                else:
                    in_quotes = not in_quotes
                i += 1
            else:
                arg.append("\\" * backslashes)
                if i < n and (in_quotes or line[i] not in " \t"):
                    arg.append(line[i])
                    i += 1
        args.append("".join(arg))
