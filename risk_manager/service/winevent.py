"""Critical messages to the Windows Event Log (Application log) through pywin32, if present."""

from __future__ import annotations

import contextlib
import sys

EVENT_SOURCE = "RiskManagerDaemon"
EVENT_ID = 1


def report_critical(message: str) -> None:
    """Write `message` as an error event; silently nothing off Windows or without pywin32."""
    if sys.platform != "win32":
        return
    try:
        import win32evtlog
        import win32evtlogutil
    except ImportError:
        return
    # pywin32's own message DLL renders the string as is; registering needs admin rights
    # (the service runs as LocalSystem), so a failure here only costs a nicer Event Viewer.
    # Exception: pywintypes.error; the Event Log is a second channel, loguru has the message.
    with contextlib.suppress(Exception):
        win32evtlogutil.AddSourceToRegistry(EVENT_SOURCE)
    with contextlib.suppress(Exception):
        win32evtlogutil.ReportEvent(
            EVENT_SOURCE,
            EVENT_ID,
            eventType=win32evtlog.EVENTLOG_ERROR_TYPE,
            strings=[message],
        )
