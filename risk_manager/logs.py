"""Logging: one loguru logger, a readable console and rotated files under the home's logs/."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

# loguru's own rotating file sink, wrapped below; its write errors would otherwise reach
# loguru's handler, which prints a "Logging error" traceback for every record.
from loguru._file_sink import FileSink

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


RETRY_SECONDS = 5.0  # how often a failing log file is tried again


class FallbackFile:
    """A rotated log file that, while the disk refuses it (full, read-only), says so once and
    sends its records to stderr instead (`echo`; the other files' records are in system.log's
    stream already), trying the file again every RETRY_SECONDS."""

    def __init__(self, path: Path, *, echo: bool, **options: Any) -> None:
        self.path, self.echo, self._options = path, echo, options
        # Built now so bad rotation / retention settings fail at start; opened at first write.
        self._file: FileSink | None = FileSink(path, delay=True, **options)
        self._failed_at: float | None = None

    def write(self, message: str) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            self._fall_back(message)
            return
        try:
            if self._file is None:
                self._file = FileSink(self.path, delay=True, **self._options)
            self._file.write(message)
        except OSError as error:
            self._close()
            if self._failed_at is None:
                sys.stderr.write(
                    f"risk-manager: cannot write {self.path} ({error.strerror or error}); "
                    "logging to stderr until it can be written again\n"
                )
            self._failed_at = time.monotonic()
            self._fall_back(message)
            return
        if self._failed_at is not None:
            self._failed_at = None
            sys.stderr.write(f"risk-manager: {self.path} can be written again\n")

    def _fall_back(self, message: str) -> None:
        if self.echo:
            sys.stderr.write(message)

    def _close(self) -> None:
        sink, self._file = self._file, None
        if sink is None:
            return
        try:
            sink.stop()
        except OSError:
            # Its flush failed before the close: close the file itself (the unwritten tail of
            # the failed record is dropped; the record went to stderr).
            with contextlib.suppress(OSError):
                opened = getattr(sink, "_file", None)
                if opened is not None:
                    opened.close()

    def stop(self) -> None:
        """Called by loguru when the sink is removed."""
        self._close()


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

    def add_file(name: str, level: str, *, echo: bool = False, **options: Any) -> None:
        sink = FallbackFile(logs_dir / name, echo=echo, rotation=settings.rotation,
                            retention=settings.retention, encoding="utf-8",
                            opener=_open_readable)  # fmt: skip
        logger.add(sink, level=level, format=FILE_FORMAT, colorize=False, diagnose=False,
                   **options)  # fmt: skip

    # Without a console sink, system.log's records go to stderr while its file fails.
    add_file("system.log", settings.level, echo=not settings.console)
    add_file("enforcement.log", "INFO", filter=_is_enforcement)
    add_file("error.log", "ERROR", backtrace=False)
    if sys.platform == "win32":
        # Critical events also reach the Windows Event Log (when pywin32 is installed).
        logger.add(lambda message: report_critical(message.record["message"]), level="CRITICAL",
                   diagnose=False)  # fmt: skip
