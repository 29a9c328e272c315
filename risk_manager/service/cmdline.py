"""Windows command-line quoting: how one argv becomes one CreateProcess command line."""

from __future__ import annotations

from collections.abc import Iterable

# Characters that make the MS C runtime (and CommandLineToArgvW) split or unquote an argument.
_NEEDS_QUOTES = frozenset(' \t\n\v"')


def quote_arg(arg: str) -> str:
    """Quote one argument so the MS C runtime parses it back to exactly `arg`."""
    if arg and not (_NEEDS_QUOTES & set(arg)):
        return arg
    out: list[str] = ['"']
    backslashes = 0
    for char in arg:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            # Backslashes before a quote are escapes: double them, then escape the quote itself.
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + char)
        backslashes = 0
    # Trailing backslashes sit before the closing quote, so they must be doubled too.
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)


def to_cmdline(argv: Iterable[str]) -> str:
    """Join argv into one CreateProcess command line (like subprocess.list2cmdline)."""
    return " ".join(quote_arg(arg) for arg in argv)
