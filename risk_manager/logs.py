"""Logging: one loguru logger, a readable console and rotated files under the home's logs/."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from risk_manager.service.winevent import report_critical

if TYPE_CHECKING:
    from loguru import Record

    from risk_manager.config.models import LogConfig

FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS Z} | {level: <8} | {extra[account]: <10} | {message}"
CONSOLE_FORMAT = (
    # The zone is named: the CLIs show the trading-day zone, this is the machine's.
    "<green>{time:HH:mm:ss zz}</green> <level>{level: <8}</level> "
    "<cyan>{extra[account]}</cyan> {message}"
)


def _is_enforcement(record: Record) -> bool:
    return record["extra"].get("channel") == "enforcement"


def _open_readable(path: str, flags: int) -> int:
    """Open a log file readable by everyone, whatever the umask (systemd's UMask=0077).

    logs/ is the one part of the home other users may read (SPEC §6); config, state and
    secrets keep the umask's owner-only modes.
    """
    fd = os.open(path, flags, 0o644)
    if sys.platform != "win32":
        os.fchmod(fd, 0o644)
    return fd


def configure_console() -> None:
    """Until the config is read: the console sink in the format of the lines that follow."""
    logger.remove()
    logger.configure(extra={"account": "-"})
    logger.add(sys.stderr, level="INFO", format=CONSOLE_FORMAT, colorize=None, diagnose=False)


def configure(logs_dir: Path, settings: LogConfig) -> None:
    """Replace every sink: console, system.log, enforcement.log, error.log (rotated)."""
    logger.remove()
    logger.configure(extra={"account": "-"})
    # diagnose=False everywhere: loguru would otherwise print local variables (a token, a
    # proof) in tracebacks, and logs/ is readable by the trader.
    if settings.console:
        logger.add(sys.stderr, level=settings.level, format=CONSOLE_FORMAT, colorize=None,
                   diagnose=False)  # fmt: skip

    def add_file(name: str, level: str, **options: Any) -> None:
        logger.add(logs_dir / name, level=level, format=FILE_FORMAT, rotation=settings.rotation,
                   retention=settings.retention, encoding="utf-8", diagnose=False,
                   opener=_open_readable, **options)  # fmt: skip

    add_file("system.log", settings.level)
    add_file("enforcement.log", "INFO", filter=_is_enforcement)
    add_file("error.log", "ERROR", backtrace=False)
    if sys.platform == "win32":
        # Critical events also reach the Windows Event Log (when pywin32 is installed).
        logger.add(lambda message: report_critical(message.record["message"]), level="CRITICAL",
                   diagnose=False)  # fmt: skip
