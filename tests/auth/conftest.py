"""Fixtures for admin-auth tests: a fake monotonic clock and a cheap SCRAM verifier."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The project is run from a checkout, not installed; make `risk_manager` and `cli` importable.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from risk_manager.auth import AdminAuth, AuthSettings  # noqa: E402
from risk_manager.auth.passwords import MIN_ITERATIONS, StoredSecret, hash_password  # noqa: E402

PASSWORD = "Correct-Horse-42"
# The stored count may be low in tests (the daemon never derives it); the CLI's floor is tested
# with verifiers at the real default.
CHEAP = MIN_ITERATIONS


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="session")
def password() -> str:
    return PASSWORD


@pytest.fixture(scope="session")
def secret() -> StoredSecret:
    return hash_password(PASSWORD, iterations=CHEAP)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_auth(secret: StoredSecret, clock: FakeClock) -> Callable[..., AdminAuth]:
    def factory(**settings: Any) -> AdminAuth:
        return AdminAuth(lambda: secret, now=clock, settings=AuthSettings(**settings))

    return factory


@pytest.fixture
def auth(make_auth: Callable[..., AdminAuth]) -> AdminAuth:
    return make_auth()
