"""Windows-only shims: no-ops elsewhere; the Event Log call and the logoff decision."""

from __future__ import annotations

import asyncio
import signal
import sys
import types

import pytest

from risk_manager import stop_signals
from risk_manager.service import winconsole, winevent


def test_report_critical_is_silent_off_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setitem(sys.modules, "win32evtlogutil", None)  # an import would raise
    winevent.report_critical("boom")


def test_report_critical_writes_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []
    util = types.ModuleType("win32evtlogutil")
    util.AddSourceToRegistry = lambda source: calls.append(("register", source))  # type: ignore[attr-defined]
    util.ReportEvent = lambda *a, **kw: calls.append(("report", a, kw))  # type: ignore[attr-defined]
    evtlog = types.ModuleType("win32evtlog")
    evtlog.EVENTLOG_ERROR_TYPE = 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "win32evtlogutil", util)
    monkeypatch.setitem(sys.modules, "win32evtlog", evtlog)
    monkeypatch.setattr(sys, "platform", "win32")

    winevent.report_critical("event loop stalled")

    assert calls == [
        ("register", "RiskManagerDaemon"),
        ("report", ("RiskManagerDaemon", 1), {"eventType": 1, "strings": ["event loop stalled"]}),
    ]


def test_report_critical_survives_a_failing_event_log(monkeypatch: pytest.MonkeyPatch) -> None:
    util = types.ModuleType("win32evtlogutil")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("access denied")

    util.AddSourceToRegistry = fail  # type: ignore[attr-defined]
    util.ReportEvent = fail  # type: ignore[attr-defined]
    evtlog = types.ModuleType("win32evtlog")
    evtlog.EVENTLOG_ERROR_TYPE = 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "win32evtlogutil", util)
    monkeypatch.setitem(sys.modules, "win32evtlog", evtlog)
    monkeypatch.setattr(sys, "platform", "win32")

    winevent.report_critical("still fine")


@pytest.mark.parametrize(
    ("event", "handled"),
    [
        (winconsole.CTRL_LOGOFF_EVENT, True),
        (winconsole.CTRL_C_EVENT, False),  # NSSM's stop: Python must still see it
        (winconsole.CTRL_BREAK_EVENT, False),
        (winconsole.CTRL_CLOSE_EVENT, False),
        (winconsole.CTRL_SHUTDOWN_EVENT, False),
    ],
)
def test_only_logoff_is_swallowed(event: int, handled: bool) -> None:
    assert winconsole.handles_event(event) is handled


@pytest.mark.skipif(sys.platform == "win32", reason="the non-Windows no-op")
def test_ignore_logoff_is_a_no_op_off_windows() -> None:
    assert winconsole.ignore_logoff() is False


def test_ctrl_break_asks_for_the_same_graceful_stop_as_ctrl_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Wine cannot deliver Ctrl+Break (its C runtime maps only Ctrl+C to a signal), so the
    # Windows branch of the handler is driven here: SIGUSR1 stands in for SIGBREAK, and
    # raise_signal runs the handler exactly as the C runtime does after CTRL_BREAK_EVENT.
    installed: list[str] = []
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    monkeypatch.setattr(stop_signals, "ignore_logoff", lambda: installed.append("logoff"))
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGUSR1)}
    runtime = types.SimpleNamespace(stop_requested=asyncio.Event())

    async def scenario() -> bool:
        stop_signals.install_stop_handlers(runtime)  # type: ignore[arg-type]
        signal.raise_signal(signal.SIGUSR1)
        await asyncio.wait_for(runtime.stop_requested.wait(), timeout=10)
        return runtime.stop_requested.is_set()

    try:
        assert asyncio.run(scenario()) is True
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert installed == ["logoff"]
