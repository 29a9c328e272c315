"""A fill landing between reconcile's reads is neither lost nor counted twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from risk_manager.brokers.base import BrokerPosition
from risk_manager.domain.events import Fill
from risk_manager.reconcile import fetch_snapshot
from tests.brokers.double import SlowBroker


class TradesDuringTheRead(SlowBroker):
    """The trader buys 1 MNQ right after reconcile's first read of the fills."""

    def __init__(self) -> None:
        super().__init__(["A"])
        self.fill_reads = 0

    async def fills_since(self, account_id: str, since: datetime) -> list[Fill]:
        fills = await super().fills_since(account_id, since)
        self.fill_reads += 1
        if self.fill_reads == 1:
            self.trade("A", "MNQ", 1)
        return fills


def test_fills_are_read_again_until_the_positions_match_them() -> None:
    async def scenario() -> None:
        broker = TradesDuringTheRead()
        broker.trade("A", "MNQ", 2)
        snapshot = await fetch_snapshot(broker, "A", datetime(2000, 1, 1, tzinfo=UTC))
        assert [f.quantity for f in snapshot.fills] == [2, 1]  # the late fill is in
        [position] = snapshot.positions
        assert isinstance(position, BrokerPosition)
        assert position.size == 3
        assert broker.fill_reads == 3  # changed once, then confirmed

    asyncio.run(scenario())
