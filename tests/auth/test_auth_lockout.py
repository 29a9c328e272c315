"""Consecutive failures lock admin auth; the lock runs out on its own."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import pytest

from risk_manager.auth import AdminAuth, AuthFailed, AuthLocked, Challenge
from risk_manager.auth.passwords import StoredSecret

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeClock

BAD_PROOF = "00" * 32


def prove(secret: StoredSecret, challenge: Challenge) -> str:
    return hmac.new(secret.key, bytes.fromhex(challenge.nonce), hashlib.sha256).hexdigest()


def fail_times(auth: AdminAuth, count: int) -> list[AuthFailed]:
    errors = []
    for _ in range(count):
        challenge = auth.issue_challenge()
        with pytest.raises(AuthFailed) as failed:
            auth.open_session(challenge.nonce, BAD_PROOF)
        errors.append(failed.value)
    return errors


def test_five_failures_lock_and_sixth_correct_proof_refused(
    auth: AdminAuth, secret: StoredSecret
) -> None:
    waiting = auth.issue_challenge()  # obtained before the lock, answered during it
    errors = fail_times(auth, 5)

    with pytest.raises(AuthLocked) as locked:
        auth.open_session(waiting.nonce, prove(secret, waiting))

    assert [e.locked_for for e in errors] == [None, None, None, None, 300]
    assert "locked for 300 s" in errors[-1].message
    assert locked.value.seconds_remaining == 300
    assert locked.value.code == "auth_locked"


def test_locked_refuses_new_challenges(auth: AdminAuth, clock: FakeClock) -> None:
    fail_times(auth, 5)
    clock.advance(100.5)

    with pytest.raises(AuthLocked) as locked:
        auth.issue_challenge()

    assert locked.value.seconds_remaining == 200  # rounded up from 199.5


def test_status_reports_lock_for_health(auth: AdminAuth, clock: FakeClock) -> None:
    fail_times(auth, 3)
    assert auth.status()["locked"] is False
    assert auth.status()["failures"] == 3

    fail_times(auth, 2)
    clock.advance(60.0)

    status = auth.status()
    assert (status["locked"], status["seconds_remaining"], status["failures"]) == (True, 240, 5)


def test_lock_expiry_reopens_with_fresh_count(
    auth: AdminAuth, secret: StoredSecret, clock: FakeClock
) -> None:
    fail_times(auth, 5)
    clock.advance(300.0)

    status = auth.status()
    assert (status["locked"], status["seconds_remaining"], status["failures"]) == (False, 0, 0)
    errors = fail_times(auth, 1)  # one miss after the lock must not relock at once
    assert errors[0].locked_for is None
    challenge = auth.issue_challenge()
    assert auth.verify_token(auth.open_session(challenge.nonce, prove(secret, challenge)).value)


def test_success_resets_consecutive_count(auth: AdminAuth, secret: StoredSecret) -> None:
    fail_times(auth, 4)
    challenge = auth.issue_challenge()
    auth.open_session(challenge.nonce, prove(secret, challenge))

    errors = fail_times(auth, 4)

    assert auth.status()["locked"] is False
    assert all(e.locked_for is None for e in errors)


def test_attempts_while_locked_do_not_extend_lock(auth: AdminAuth, clock: FakeClock) -> None:
    waiting = [auth.issue_challenge() for _ in range(3)]
    fail_times(auth, 5)
    clock.advance(299.0)
    for challenge in waiting:
        with pytest.raises(AuthLocked):
            auth.open_session(challenge.nonce, BAD_PROOF)

    clock.advance(1.0)

    assert auth.status()["locked"] is False


def test_unknown_nonces_count_as_failures(auth: AdminAuth) -> None:
    for _ in range(5):
        with pytest.raises(AuthFailed):
            auth.open_session("ab" * 32, BAD_PROOF)

    assert auth.status()["locked"] is True


def test_lock_listener_called_once_and_errors_swallowed(
    secret: StoredSecret, clock: FakeClock
) -> None:
    calls: list[tuple[int, int]] = []

    def listener(failures: int, seconds: int) -> None:
        calls.append((failures, seconds))
        raise RuntimeError("notifier down")

    auth = AdminAuth(lambda: secret, now=clock, on_lock=listener)
    fail_times(auth, 5)

    assert calls == [(5, 300)]


def test_custom_threshold_and_duration(make_auth: Callable[..., AdminAuth]) -> None:
    auth = make_auth(max_failures=2, lock_seconds=10.0)

    errors = fail_times(auth, 2)

    assert errors[-1].locked_for == 10
