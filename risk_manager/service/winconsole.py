"""Keep the daemon alive through a user logoff: ignore CTRL_LOGOFF_EVENT on Windows."""

from __future__ import annotations

import sys
from typing import Any

CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6

# The ctypes callback must outlive the call, or Windows would call freed memory.
_installed_handler: Any = None


def handles_event(ctrl_type: int) -> bool:
    """True (handled, do not exit) only for a logoff; other events go on to Python's handlers."""
    return ctrl_type == CTRL_LOGOFF_EVENT


def ignore_logoff() -> bool:
    """Install the handler on Windows; True when installed, False elsewhere or on failure."""
    global _installed_handler
    if sys.platform != "win32":
        return False
    if _installed_handler is not None:
        return True
    import ctypes
    from ctypes import wintypes

    # A console process running under a service receives CTRL_LOGOFF_EVENT whenever *any*
    # user logs off; the default handler would then exit the daemon. Ctrl+C (NSSM's stop
    # signal) and Ctrl+Break return False here, so Python's own handlers still see them.
    handler_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
    handler = handler_type(handles_event)
    if not ctypes.windll.kernel32.SetConsoleCtrlHandler(handler, True):
        return False
    _installed_handler = handler
    return True
