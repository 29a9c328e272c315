"""The daemon's exit codes, and the start-up failures that map to them.

The table in docs/operations.md lists these; supervisors (systemd, NSSM) and scripts rely
on them, so a number never changes meaning.
"""

from __future__ import annotations

EXIT_OK = 0  # stopped cleanly
EXIT_UNEXPECTED = 1  # an unexpected error (a bug): see logs/error.log
EXIT_CONFIG = 2  # the configuration is invalid (the message names the file and key)
EXIT_START = 3  # cannot start: port in use, home in use, a file cannot be written
EXIT_STATE = 4  # the state database is unusable and no backup could be restored
EXIT_WATCHDOG = 70  # the event loop stalled (sysexits EX_SOFTWARE)


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""

    exit_code = EXIT_START


class StateError(StartupError):
    """The state database cannot be used and nothing could be restored."""

    exit_code = EXIT_STATE
