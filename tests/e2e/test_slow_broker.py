"""The real daemon on a slow, lossy broker: late fills, a lost reply and a 429 on the closes,
and a daemon killed while its close request is in flight.

The broker double is loaded as a broker kind through RISK_MANAGER_BROKER_PLUGINS; the test
trades through its routes and reads the broker's true position history from them. With a state
file the double's exchange outlives the daemon process, like a real broker's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import DaemonProcess
from tests.e2e.conftest import positions, record_of, records_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[daemon]
port = 0
[broker]
kind = "test_double"
[broker.test_double]
prices = {{ MNQ = 21000.00, ES = 6000.00, NQ = 21000.00 }}
{double}
[accounts.SIM-1]
name = "Test account"
profile = "test"
[profiles.test]
{profile}
"""
STATE = "/api/v1/test-broker/accounts/SIM-1/state"
SLOW = "fill_delay_ms = 400\nposition_lag_ms = 150"
# Every fill 200-800 ms after its acknowledgement, positions reported 300 ms late.
SLOWER = "fill_delay_ms = 200\nfill_jitter_ms = 600\nposition_lag_ms = 300"


@pytest.fixture
def slow_daemon(
    start_daemon: Callable[..., DaemonProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., DaemonProcess]:
    monkeypatch.setenv("RISK_MANAGER_BROKER_PLUGINS", "tests.brokers.double_plugin")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    def start(profile: str, double: str = SLOW) -> DaemonProcess:
        return start_daemon(text=CONFIG.format(profile=profile, double=double))

    return start


def _settled(daemon: DaemonProcess, target: int, symbol: str = "MNQ") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        state = daemon.get(STATE, params={"symbol": symbol})
        return state if state["idle"] and abs(state["size"]) == target else None

    return wait_for(done, timeout=30)


def _trade(daemon: DaemonProcess, symbol: str, quantity: int) -> None:
    """The trader's market order; the route returns once the daemon has enforced it."""
    daemon.post(
        "/api/v1/test-broker/accounts/SIM-1/trades", {"symbol": symbol, "quantity": quantity}
    )


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


def test_close_of_a_blocked_symbol_on_a_slow_lossy_broker_leaves_the_other_alone(slow_daemon):
    daemon = slow_daemon('symbol_blocks.symbols = ["ES"]', SLOWER + "\nanonymous_closes = true")
    _trade(daemon, "MNQ", 2)
    # The close (its reply names no order, like ProjectX's) is answered 429 after the broker
    # acted: it must be found on the stream, not sent again into the faults that follow.
    daemon.post("/api/v1/test-broker/faults", {"faults": ["429_acted", "lose_ack", "500"]})
    _trade(daemon, "ES", -3)

    es = _settled(daemon, 0, "ES")
    mnq = daemon.get(STATE, params={"symbol": "MNQ"})

    assert max(es["history"][1:]) == 0  # a short closed to flat, never long
    assert es["closes"] == [["close", "SIM-1", "ES"]]
    assert es["faults_left"] == 2
    assert mnq["size"] == 2  # the allowed symbol is not touched
    assert mnq["closes"] == es["closes"]
    assert wait_for(lambda: positions(daemon) == {"MNQ": 2} or None)


def test_flatten_of_several_positions_with_every_kind_of_lost_answer_ends_flat(slow_daemon):
    daemon = slow_daemon("max_contracts.limit = 5\nmax_contracts.close_all = true", SLOWER)
    _trade(daemon, "MNQ", 3)
    _trade(daemon, "NQ", 1)
    # The first close (ES) is throttled before acting; the second acts, its reply is lost; the
    # third (MNQ) acts and is answered 429; the fourth (NQ) acts and is answered 500.
    faults = ["429", "lose_ack", "429_acted", "500"]
    daemon.post("/api/v1/test-broker/faults", {"faults": faults})
    _trade(daemon, "ES", -2)  # 6 contracts: over the limit, everything is closed

    es, mnq, nq = (_settled(daemon, 0, symbol) for symbol in ("ES", "MNQ", "NQ"))

    assert max(es["history"][1:]) == 0  # never flipped long
    assert min(mnq["history"][1:]) == 0  # never flipped short
    assert min(nq["history"][1:]) == 0
    close = [["close", "SIM-1", symbol] for symbol in ("ES", "ES", "MNQ", "NQ")]
    assert nq["closes"] == close  # only the close that did not act was sent again
    assert nq["faults_left"] == 0
    record = record_of(daemon, "max_contracts")
    assert record["status"] == "done"
    assert wait_for(lambda: positions(daemon) == {} or None)


def test_a_reduce_in_flight_when_the_daemon_is_killed_is_not_sent_again_after_restart(
    slow_daemon, start_daemon, tmp_path
):
    """kill -9 while the partial close is at the broker and its reply has not come; the
    restarted daemon resumes the batch while the broker still reports the old position (the
    fill comes seconds later): it must find its earlier order instead of sending another."""
    exchange = (tmp_path / "exchange.state").as_posix()
    double = f'fill_delay_ms = 5000\nposition_lag_ms = 500\nstate_file = "{exchange}"'
    daemon = slow_daemon("max_contracts.limit = 1", double)
    daemon.post("/api/v1/test-broker/faults", {"faults": ["hang"]})
    trade = {"symbol": "MNQ", "quantity": 4, "settle": False}  # its close never completes
    daemon.post("/api/v1/test-broker/accounts/SIM-1/trades", trade)
    sent = wait_for(lambda: daemon.get(STATE, params={"symbol": "MNQ"})["closes"], timeout=10)
    assert sent == [["partial", "SIM-1", "MNQ", "3"]]

    daemon.kill9()  # the close is working at the broker; the daemon never heard back
    restarted = start_daemon()  # same home, same config: same exchange

    def finished() -> dict[str, Any] | None:
        state = restarted.get(STATE, params={"symbol": "MNQ"})
        batches = records_of(restarted, "max_contracts")
        done = state["idle"] and all(r["status"] == "done" for r in batches)
        return state if done else None

    state = wait_for(finished, timeout=30)
    assert state["closes"] == [["partial", "SIM-1", "MNQ", "3"]]  # exactly one closing order
    assert state["size"] == 1
    assert min(state["history"][1:]) == 1  # never below the limit at the broker
    assert wait_for(lambda: positions(restarted) == {"MNQ": 1} or None)
    assert "outcome unknown" in restarted.output()


def test_a_stop_while_the_first_reconcile_runs_exits_at_once(slow_daemon):
    """The broker was away at boot and answers later; a stop during the reconcile that
    follows must not wait for the events already pushed, which nothing consumes yet."""
    daemon = slow_daemon("", "connect_failures = 1\ninfo_delay_ms = 60000")
    wait_for(lambda: daemon.get("/api/v1/health")["broker"]["connected"] or None, timeout=30)
    assert daemon.stop() == 0
    assert "Shutdown budget exceeded" not in daemon.output()
    assert "Daemon stopped cleanly" in daemon.output()
