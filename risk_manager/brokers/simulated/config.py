"""Settings of the simulated broker (`[broker] kind = "simulated"` and `[broker.simulated]`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from risk_manager.config.broker import BrokerSettings
from risk_manager.domain.strict import Dollars, KnownSymbol, Price, StrictBool, StrictInt


class SimulatedBrokerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    market: Literal["random_walk", "manual"] = "random_walk"
    seed: StrictInt = Field(7, ge=0, le=2**63 - 1)
    tick_interval_ms: StrictInt = Field(1000, ge=1, le=60_000)
    starting_balance: Dollars = Field(Decimal("50000"), gt=0)
    # Every root must be in the contract table: a typo here would fail the next start.
    symbols: tuple[KnownSymbol, ...] = ("MNQ", "ES")
    prices: dict[KnownSymbol, Price] = Field(default_factory=dict)
    fees: dict[KnownSymbol, Annotated[Dollars, Field(ge=0)]] = Field(default_factory=dict)
    # Routes that move the clock, drop the link, flip canTrade or stall the loop: for tests
    # and demos only, since they could end a lockout early. Off unless asked for.
    test_controls: StrictBool = False


class SimulatedSettings(BrokerSettings):
    """`[broker] kind = "simulated"` (the default) with its `[broker.simulated]` table."""

    kind: Literal["simulated"] = "simulated"
    simulated: SimulatedBrokerConfig = SimulatedBrokerConfig()
