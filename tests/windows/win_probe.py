"""Windows side: load and call the daemon's Windows-only pieces; print what happened as JSON."""

import json
import socket
import sys
import tempfile

import psutil
import win32evtlog  # noqa: F401  (pywin32: the Event Log channel of risk_manager.logs)

from risk_manager.service import nssm, winconsole, winevent

with tempfile.TemporaryFile() as handle:
    import msvcrt

    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    locked = True
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
sock.bind(("127.0.0.1", 0))
sock.close()
winevent.report_critical("risk manager Windows tier probe")
print(
    json.dumps(
        {
            "platform": sys.platform,
            "logoff_handler": winconsole.ignore_logoff(),
            "msvcrt_lock": locked,
            "exclusive_bind": True,
            "is_admin": nssm.is_admin(),
            "rss": psutil.Process().memory_info().rss,
        }
    )
)
