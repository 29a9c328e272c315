"""Session fixtures of the Windows tier: one Wine prefix and one Windows interpreter per run."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.windows.report import MEASURED, NOT_VERIFIABLE, TIMINGS
from tests.windows.wineenv import Wine, missing_reason, session_python
from tests.windows.winprocess import WindowsPython


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("wine")
    wine = Wine(root / "prefix", root / "wine.log")
    started = time.monotonic()
    wine.boot()
    TIMINGS["Wine prefix"] = time.monotonic() - started
    yield wine
    wine.shutdown()


@pytest.fixture(scope="session")
def windows_python(wine: Wine, tmp_path_factory: pytest.TempPathFactory) -> WindowsPython:
    started = time.monotonic()
    exe = session_python(wine, tmp_path_factory.mktemp("winpython"))
    TIMINGS["Windows CPython with the project"] = time.monotonic() - started
    return WindowsPython(wine, exe)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in TIMINGS.items())
        terminalreporter.write_line(f"Windows tier set-up: {parts}")
    if MEASURED:
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in MEASURED.items())
        terminalreporter.write_line(f"Windows tier measured: {parts}")
    for line in NOT_VERIFIABLE:
        terminalreporter.write_line(f"not verifiable under Wine: {line}")
