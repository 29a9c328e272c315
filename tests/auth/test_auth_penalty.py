"""Failed proofs slow admin auth down progressively; nothing can lock the admin out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.auth import AdminAuth, AuthFailed, TooEarly
from risk_manager.auth.passwords import StoredSecret
from risk_manager.auth.penalty import ProgressivePenalty, request_reset
from tests.scram_client import InProcess

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeClock

WRONG = "Wrong-Password-99"


def fail_times(auth: AdminAuth, clock: FakeClock, count: int) -> list[AuthFailed]:
    """Wrong proofs against issued challenges, each answered once its wait is over."""
    errors = []
    for _ in range(count):
        exchange = InProcess(auth, WRONG)
        clock.advance(exchange.challenge.wait)
        with pytest.raises(AuthFailed) as failed:
            exchange.finish()
        errors.append(failed.value)
    return errors


def test_garbage_without_an_issued_challenge_never_counts(auth: AdminAuth, password: str) -> None:
    for garbage in ["", "nonsense", "c=biws,r=" + "00" * 32 + ",p=AAAA"] * 20:
        with pytest.raises(AuthFailed):
            auth.open_session(garbage)

    assert auth.status()["failures"] == 0
    exchange = InProcess(auth, password)
    assert exchange.challenge.wait == 0
    assert auth.verify_token(exchange.finish().value)


def test_delays_grow_after_the_free_failures_and_stop_at_the_cap(
    auth: AdminAuth, clock: FakeClock
) -> None:
    waits = []
    for _ in range(12):
        exchange = InProcess(auth, WRONG)
        waits.append(exchange.challenge.wait)
        clock.advance(exchange.challenge.wait)
        with pytest.raises(AuthFailed):
            exchange.finish()

    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 120]
    assert auth.status()["penalty_seconds"] == 120


def test_failure_reply_announces_the_wait(auth: AdminAuth, clock: FakeClock) -> None:
    errors = fail_times(auth, clock, 5)

    assert [e.delay for e in errors] == [0, 0, 0, 1, 2]
    assert "new challenges wait 2 s" in errors[-1].message


def test_early_answer_is_not_checked_not_counted_and_keeps_the_challenge(
    auth: AdminAuth, password: str, clock: FakeClock
) -> None:
    fail_times(auth, clock, 6)
    exchange = InProcess(auth, password)
    assert exchange.challenge.wait == 4
    assert exchange.challenge.expires_in == 34.0

    with pytest.raises(TooEarly) as early:
        exchange.finish()
    assert early.value.seconds_remaining == 4
    assert auth.status()["failures"] == 6

    clock.advance(4.0)
    assert auth.verify_token(exchange.finish().value)
    assert (auth.status()["failures"], auth.status()["penalty_seconds"]) == (0, 0)


def test_others_failures_do_not_delay_a_challenge_already_issued(
    auth: AdminAuth, password: str, clock: FakeClock
) -> None:
    admin = InProcess(auth, password)

    fail_times(auth, clock, 8)

    assert auth.status()["penalty_seconds"] == 16
    assert auth.verify_token(admin.finish().value)


def test_penalty_forgotten_after_a_quiet_spell(auth: AdminAuth, clock: FakeClock) -> None:
    fail_times(auth, clock, 5)
    assert auth.status()["penalty_seconds"] == 2

    clock.advance(15 * 60.0)

    assert (auth.status()["failures"], auth.status()["penalty_seconds"]) == (0, 0)


def test_listener_told_each_time_the_wait_grows_and_its_errors_swallowed(
    secret: StoredSecret, clock: FakeClock
) -> None:
    calls: list[tuple[int, int]] = []

    def listener(failures: int, seconds: int) -> None:
        calls.append((failures, seconds))
        raise RuntimeError("notifier down")

    auth = AdminAuth(lambda: secret, now=clock, on_penalty=listener)
    for _ in range(6):
        exchange = InProcess(auth, WRONG)
        clock.advance(exchange.challenge.wait)
        with pytest.raises(AuthFailed):
            exchange.finish()

    assert calls == [(4, 1), (5, 2), (6, 4)]


def test_stockpiled_challenges_each_count_and_a_long_run_keeps_being_reported(
    secret: StoredSecret, clock: FakeClock
) -> None:
    """Challenges cost nothing, so a guesser may hold many and answer them at once: every wrong
    proof counts, and past the cap the listener hears at each doubling of the count."""
    calls: list[tuple[int, int]] = []
    auth = AdminAuth(lambda: secret, now=clock, on_penalty=lambda f, s: calls.append((f, s)))
    stockpile = [InProcess(auth, WRONG) for _ in range(70)]

    for exchange in stockpile:
        with pytest.raises(AuthFailed):
            exchange.finish()

    assert {exchange.challenge.wait for exchange in stockpile} == {0}
    assert auth.status() | {"answered_challenges": 0} == {
        "failures": 70, "penalty_seconds": 120, "active_sessions": 0, "answered_challenges": 0,
    }  # fmt: skip
    assert calls == [(4, 1), (5, 2), (6, 4), (7, 8), (8, 16), (9, 32), (10, 64), (11, 120),
                     (16, 120), (32, 120), (64, 120)]  # fmt: skip


def test_reset_marker_clears_the_penalty(
    secret: StoredSecret, password: str, clock: FakeClock, tmp_path: Path
) -> None:
    marker = tmp_path / "secrets" / "auth-reset"
    marker.parent.mkdir()
    request_reset(marker)  # one left from an earlier run must not count as a new request
    auth = AdminAuth(lambda: secret, now=clock, reset_marker=marker)
    fail_times(auth, clock, 7)
    assert auth.status()["penalty_seconds"] == 8

    request_reset(marker)

    assert (auth.status()["failures"], auth.status()["penalty_seconds"]) == (0, 0)
    exchange = InProcess(auth, password)
    assert exchange.challenge.wait == 0
    assert auth.verify_token(exchange.finish().value)


def test_unchanged_marker_does_not_reset(
    secret: StoredSecret, clock: FakeClock, tmp_path: Path
) -> None:
    marker = tmp_path / "auth-reset"
    auth = AdminAuth(lambda: secret, now=clock, reset_marker=marker)
    request_reset(marker)
    fail_times(auth, clock, 5)

    assert auth.status()["failures"] == 5


def test_custom_penalty_settings(make_auth: Callable[..., AdminAuth], clock: FakeClock) -> None:
    auth = make_auth(free_failures=0, first_delay=5.0, max_delay=7.0)

    errors = fail_times(auth, clock, 1)

    assert errors[0].delay == 5
    assert auth.status()["penalty_seconds"] == 5


@given(
    failures=st.integers(0, 500),
    free=st.integers(0, 10),
    first=st.floats(0.01, 100),
    cap=st.floats(0.01, 1000),
)
def test_wait_is_monotonic_and_bounded(failures: int, free: int, first: float, cap: float) -> None:
    penalty = ProgressivePenalty(
        free_failures=free, first_delay=first, max_delay=cap, forget_after=60.0
    )
    waits = []
    for _ in range(failures):
        penalty.record_failure(0.0)
        waits.append(penalty.delay(0.0))

    assert waits == sorted(waits)
    assert all(0 <= w <= max(1, -(-cap // 1)) for w in waits)
    assert waits[:free] == [0] * min(free, failures)
