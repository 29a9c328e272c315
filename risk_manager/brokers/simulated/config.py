"""Settings of the simulated broker (`[broker] kind = "simulated"` and `[broker.simulated]`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from risk_manager.config.broker import BrokerSettings


class SimulatedBrokerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    market: Literal["random_walk", "manual"] = "random_walk"
    seed: int = 7
    tick_interval_ms: int = Field(1000, ge=1, le=60_000)
    starting_balance: Decimal = Field(Decimal("50000"), gt=0)
    symbols: tuple[str, ...] = ("MNQ", "ES")
    prices: dict[str, Decimal] = Field(default_factory=dict)
    fees: dict[str, Decimal] = Field(default_factory=dict)
    # Routes that move the clock, drop the link, flip canTrade or stall the loop: for tests
    # and demos only, since they could end a lockout early. Off unless asked for.
    test_controls: bool = False


class SimulatedSettings(BrokerSettings):
    """`[broker] kind = "simulated"` (the default) with its `[broker.simulated]` table."""

    kind: Literal["simulated"] = "simulated"
    simulated: SimulatedBrokerConfig = SimulatedBrokerConfig()
