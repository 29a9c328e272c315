"""Events per second through the state path, each beside a bare loop over the same events."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from benchmarks.harness import (
    ALL_RULES,
    build,
    config_for,
    open_position,
    quotes,
    round_trip_fills,
    settle,
)
from risk_manager.domain.contracts import CONTRACTS


def _rate(handle: Callable[[Any], None], events: Sequence[Any]) -> float:
    start = time.perf_counter()
    for event in events:
        handle(event)
    return len(events) / (time.perf_counter() - start)


def _noop(_event: Any) -> None:
    return None


def _pair(handle: Callable[[Any], None], events: Sequence[Any]) -> dict[str, float]:
    baseline = _rate(_noop, events)
    measured = _rate(handle, events)
    return {"per_second": round(measured), "baseline_per_second": round(baseline),
            "events": len(events)}  # fmt: skip


async def state_path(n_quotes: int = 200_000, n_fills: int = 20_000) -> dict[str, Any]:
    """Issue 2: one account, no rules: quotes in memory, fills durably committed."""
    harness = await build(config_for(1, ""))
    harness.pipeline.hooks = None  # the bare state path
    open_position(harness, "BENCH-0")
    result = {
        "quotes": _pair(harness.pipeline.handle, quotes("MNQ", n_quotes)),
        "fills_durable": _pair(harness.pipeline.handle, round_trip_fills("BENCH-0", n_fills)),
    }
    await harness.broker.close()
    return result


async def all_rules(accounts: int, n_quotes: int, n_fills: int) -> dict[str, Any]:
    """Issue 3: every rule enabled (limits never reached) on `accounts` accounts."""
    harness = await build(config_for(accounts, ALL_RULES))
    ids = list(harness.config.accounts)
    for account_id in ids:
        open_position(harness, account_id)
    await settle(harness)
    fills = _round_robin(ids, n_fills, "bench")
    # The aggregate stream interleaves quotes (each revalues every account's position) and
    # fills spread over all accounts, as a busy session would.
    mixed_fills = _round_robin(ids, n_fills, "mixed")
    mixed = [e for pair in zip(quotes("MNQ", len(mixed_fills)), mixed_fills, strict=True)
             for e in pair]  # fmt: skip
    result = {
        "accounts": accounts,
        "quotes": _pair(harness.pipeline.handle, quotes("MNQ", n_quotes)),
        "fills_durable": _pair(harness.pipeline.handle, fills),
        "mixed_aggregate": _pair(harness.pipeline.handle, mixed),
        "enforcement_failures": harness.executor.failures,
    }
    # Every account holds MNQ, so each quote is evaluated once per account: count those too.
    per_event = (accounts + 1) / 2  # half the mixed stream are quotes (x accounts), half fills
    result["mixed_aggregate"]["account_evaluations_per_second"] = round(
        result["mixed_aggregate"]["per_second"] * per_event
    )
    if accounts > 1:
        result["mixed_spread"] = _spread(harness, ids, n_fills)
    await harness.broker.close()
    return result


def _spread(harness: Any, ids: list[str], n_fills: int) -> dict[str, float]:
    """Accounts that also hold different instruments: each quote reaches only its holders."""
    symbols = [s for s in sorted(CONTRACTS) if s != "MNQ"]
    for i, account_id in enumerate(ids):
        open_position(harness, account_id, symbols[i % len(symbols)])
    fills = _round_robin(ids, n_fills, "spread")
    by_symbol = [
        quotes(symbol, len(fills) // len(symbols) + 1, Decimal("5000")) for symbol in symbols
    ]
    spread_quotes = [q for batch in zip(*by_symbol, strict=True) for q in batch][: len(fills)]
    stream = [e for pair in zip(spread_quotes, fills, strict=True) for e in pair]
    return _pair(harness.pipeline.handle, stream)


def _round_robin(ids: list[str], count: int, prefix: str) -> list[Any]:
    """About `count` fills spread evenly over the accounts, interleaved."""
    streams = [round_trip_fills(a, max(2, count // len(ids)), prefix) for a in ids]
    return [fill for batch in zip(*streams, strict=True) for fill in batch]
