"""The daemon's stop signals: the first asks for a clean stop, a second exits at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from loguru import logger

from risk_manager.runtime import Runtime
from risk_manager.service.winconsole import ignore_logoff


def install_stop_handlers(runtime: Runtime) -> None:
    """Route SIGINT/SIGTERM (Ctrl+C/Ctrl+Break on Windows) to `runtime.stop_requested`."""
    loop = asyncio.get_running_loop()

    def request_stop(signum: int) -> None:
        if runtime.stop_requested.is_set():
            logger.warning("Second stop signal: exiting now (committed state is safe)")
            os._exit(1)
        logger.info("Received {}; stopping", signal.Signals(signum).name)
        runtime.stop_requested.set()

    if sys.platform == "win32":
        # NSSM stops a console app with Ctrl+C (SIGINT); Ctrl+Break arrives as SIGBREAK.
        # A user logging off must never stop the service's console process.
        ignore_logoff()
        for signum in (signal.SIGINT, signal.SIGBREAK):
            signal.signal(signum, lambda s, _f: loop.call_soon_threadsafe(request_stop, s))
    else:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, request_stop, signum)
