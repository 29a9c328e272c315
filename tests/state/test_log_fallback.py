"""Log files on a real full disk: one notice, the records on stderr, the file again once it can
be written; never loguru's "Logging error" traceback per record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from risk_manager import logs
from risk_manager.config.models import LogConfig
from tests.small_disk import fill, small_disk


@pytest.fixture
def log_dir() -> Iterator[Path]:
    with small_disk() as disk:
        try:
            yield disk
        finally:
            logs.configure_console()  # drop the file sinks before the disk goes


def test_a_full_disk_sends_records_to_stderr_then_back_to_the_file(
    log_dir: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.configure(log_dir, LogConfig(console=False, rotation="1 MB", retention="3 days"))
    logger.info("before")
    filler = fill(log_dir)
    for n in range(200):  # far more than the slack left in the file's last page
        logger.info("during {} {}", n, "x" * 100)
    logger.error("an error while full")
    err = capfd.readouterr().err
    assert "Logging error" not in err
    assert "Traceback" not in err
    assert err.count("logging to stderr until it can be written again") == 2  # system, error
    assert "during 199" in err
    assert "an error while full" in err

    filler.unlink()
    monkeypatch.setattr(logs, "RETRY_SECONDS", 0.0)
    logger.info("after")
    err = capfd.readouterr().err
    assert "system.log can be written again" in err
    assert "after" not in err.replace("system.log can be written again", "")
    logs.configure_console()
    text = (log_dir / "system.log").read_text()
    assert "before" in text
    assert "after" in text
