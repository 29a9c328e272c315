"""Bounded schemathesis fuzz of the OpenAPI schema against a running daemon: never a 5xx.

Cases come from schemathesis' Hypothesis strategies and are sent over real HTTP (with an admin
token, so the admin routes are exercised past the auth check).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from risk_manager.auth.passwords import hash_password, save_secret
from tests.api.conftest import ITERATIONS, LOSS_PROFILE, PASSWORD, login
from tests.daemon_process import DaemonProcess, write_config

# Routes that would stop the daemon, block its loop, or stream forever are not fuzzed.
UNSAFE = re.compile(r"/admin/daemon/stop$|/sim/stall$|/events$")
EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    home: Path = tmp_path_factory.mktemp("fuzz") / "home"
    write_config(home, LOSS_PROFILE)
    save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD, iterations=ITERATIONS))
    daemon = DaemonProcess(home).start()
    yield daemon
    try:
        assert daemon.stop() == 0
    finally:
        daemon.ensure_stopped()


def operations(daemon: DaemonProcess) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{daemon.url}/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]
    return [
        op for op in found if op.method.upper() in ("GET", "POST") and not UNSAFE.search(op.path)
    ]


def test_no_server_errors_on_safe_routes(fuzz_daemon: DaemonProcess) -> None:
    headers = login(fuzz_daemon)
    chosen = operations(fuzz_daemon)
    assert len(chosen) >= 15, [op.path for op in chosen]

    calls: dict[str, int] = {}
    for operation in chosen:
        label = operation.label

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(base_url=fuzz_daemon.url, headers=headers, timeout=10)
            where = f"{case.method} {case.formatted_path}"
            calls[label] = calls.get(label, 0) + 1  # noqa: B023 - used at once
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
            assert response.json()["status"] in ("success", "error"), where

        check()

    assert len(calls) == len(chosen), calls
    # Still alive: nothing the fuzz sent knocked the daemon over.
    assert fuzz_daemon.proc is not None
    assert fuzz_daemon.proc.poll() is None
    assert fuzz_daemon.get("/api/v1/status")["accounts"][0]["account_id"] == "SIM-1"
