"""Exit codes shared by risk-admin and risk-trader, and the error type that carries one."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of both CLIs, one meaning each (docs/cli.md lists them)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_RUNNING = 3
    AUTH_FAILED = 4
    INVALID_CONFIG = 5
    NOT_FOUND = 6
    TIMEOUT = 7
    NOT_INSTALLED = 8
    UNHEALTHY = 9
    ABORTED = 10
    # Service commands only (install-daemon and friends); every code has one meaning.
    NOT_ELEVATED = 11
    NSSM_NOT_FOUND = 12
    WINDOWS_ONLY = 13


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 failed, 2 bad usage or input, 3 daemon not reachable, "
    "4 admin auth failed, 5 invalid configuration, 6 not found (unknown account), "
    "10 aborted at a prompt."
)


class CliError(Exception):
    """A failure to report as one line on stderr and a distinct exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = code
        self.lines: list[str] = []  # details printed one per line above the error line
