"""The real daemon on a slow, lossy broker: late fills, a lost reply and a 429 on the closes.

The broker double is loaded as a broker kind through RISK_MANAGER_BROKER_PLUGINS; the test
trades through its routes and reads the broker's true position history from them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import DaemonProcess
from tests.e2e.conftest import positions, record_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[daemon]
port = 0
[broker]
kind = "test_double"
[broker.test_double]
fill_delay_ms = 400
position_lag_ms = 150
prices = {{ MNQ = 21000.00 }}
[accounts.SIM-1]
name = "Test account"
profile = "test"
[profiles.test]
{profile}
"""
STATE = "/api/v1/test-broker/accounts/SIM-1/state"


@pytest.fixture
def slow_daemon(
    start_daemon: Callable[..., DaemonProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], DaemonProcess]:
    monkeypatch.setenv("RISK_MANAGER_BROKER_PLUGINS", "tests.brokers.double_plugin")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return lambda profile: start_daemon(text=CONFIG.format(profile=profile))


def _settled(daemon: DaemonProcess, target: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        state = daemon.get(STATE, params={"symbol": "MNQ"})
        return state if state["idle"] and abs(state["size"]) == target else None

    return wait_for(done, timeout=30)


def test_reduce_with_late_fills_a_lost_reply_and_a_429_ends_exactly_at_the_limit(slow_daemon):
    daemon = slow_daemon("max_contracts.limit = 1")
    daemon.post("/api/v1/test-broker/faults", {"faults": ["lose_ack", "429"]})
    daemon.post("/api/v1/test-broker/accounts/SIM-1/trades", {"symbol": "MNQ", "quantity": 4})

    state = _settled(daemon, 1)

    assert min(state["history"][1:]) == 1  # never below the limit at the broker
    assert state["closes"] == [["partial", "SIM-1", "MNQ", "3"]]  # the lost reply was found
    assert state["faults_left"] == 1  # the 429 was never needed: nothing was sent twice
    record = record_of(daemon, "max_contracts")
    assert record["status"] == "done"
    assert record["responses"][0]["outcome_unknown"] is True
    assert wait_for(lambda: positions(daemon) == {"MNQ": 1} or None)


def test_close_after_a_429_then_a_lost_reply_goes_flat_without_flipping(slow_daemon):
    daemon = slow_daemon("max_contracts.limit = 1\nmax_contracts.close_all = true")
    daemon.post("/api/v1/test-broker/faults", {"faults": ["429", "lose_ack"]})
    daemon.post("/api/v1/test-broker/accounts/SIM-1/trades", {"symbol": "MNQ", "quantity": -3})

    state = _settled(daemon, 0)

    assert max(state["history"][1:]) == 0  # a short closed to flat, never long
    assert len(state["closes"]) == 2  # the 429 did not act; the lost reply did, and was found
    assert wait_for(lambda: positions(daemon) == {} or None)
