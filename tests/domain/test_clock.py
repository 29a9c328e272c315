"""The injected clocks: wall, shiftable (simulator controls) and replay (no real sleeping)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from risk_manager.clock import ReplayClock, ShiftableClock, WallClock

START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def test_wall_clock_is_aware_utc() -> None:
    assert WallClock().now().tzinfo is UTC


def test_shifted_clock_keeps_running_from_the_new_instant() -> None:
    clock = ShiftableClock()
    clock.set_now(START)
    first = clock.now()
    assert START <= first < START + timedelta(seconds=5)
    assert clock.now() >= first
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set_now(datetime(2026, 3, 10, 14, 0))


def test_replay_sleepers_wake_in_order_as_the_replay_passes_them() -> None:
    async def scenario() -> list[str]:
        clock = ReplayClock(START)
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(f"{name}@{(clock.now() - START).total_seconds():g}")

        tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 2), ("a", 1), ("c", 60))]
        await asyncio.sleep(0)
        clock.advance_to(START + timedelta(seconds=1))
        await asyncio.sleep(0)
        clock.advance_to(START + timedelta(seconds=30))
        await asyncio.sleep(0)
        assert not tasks[2].done()  # 60 s have not passed on the replay yet
        clock.advance_to(START + timedelta(minutes=5))
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(scenario()) == ["a@1", "b@30", "c@300"]


def test_replay_cannot_go_back() -> None:
    clock = ReplayClock(START)
    with pytest.raises(ValueError, match="back in time"):
        clock.advance_to(START - timedelta(seconds=1))


def test_replay_reports_the_next_wake_and_waits_for_woken_sleepers_to_settle() -> None:
    async def scenario() -> list[str]:
        clock = ReplayClock(START)
        seen: list[str] = []

        async def ticker() -> None:
            while True:
                await clock.sleep(1)
                await asyncio.sleep(0.01)  # work between wake-ups (a thread hop, a write)
                seen.append(f"tick@{(clock.now() - START).total_seconds():g}")

        assert clock.next_wake() is None
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        for _ in range(3):
            wake = clock.next_wake()
            assert wake is not None
            clock.advance_to(wake)
            await clock.settled()  # the tick ran to its next sleep before we go on
            seen.append(f"settled@{(clock.now() - START).total_seconds():g}")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert clock.next_wake() is None  # a cancelled sleeper is no longer due
        await clock.settled()  # nothing awake: returns at once
        return seen

    assert asyncio.run(scenario()) == [
        "tick@1", "settled@1", "tick@2", "settled@2", "tick@3", "settled@3",
    ]  # fmt: skip


def test_replay_settles_when_a_woken_task_ends_instead_of_sleeping_again() -> None:
    async def scenario() -> bool:
        clock = ReplayClock(START)
        task = asyncio.create_task(clock.sleep(5))
        await asyncio.sleep(0)
        clock.advance_to(START + timedelta(seconds=5))
        await asyncio.wait_for(clock.settled(), 5)
        return task.done()

    assert asyncio.run(scenario())
