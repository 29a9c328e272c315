"""In-memory account state and the pure bookkeeping that events apply to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.events import Fill, Order
from risk_manager.domain.money import ZERO, apply_fill, cents, price_pnl


@dataclass(slots=True)
class Position:
    symbol: str
    spec: ContractSpec
    size: int
    avg_price: Decimal
    opened_at: datetime
    last_price: Decimal | None = None
    unrealized: Decimal = ZERO

    def mark(self, price: Decimal) -> None:
        """Revalue at `price` (SPEC §3 unrealized PnL)."""
        self.last_price = price
        self.unrealized = price_pnl(self.spec, self.avg_price, price, self.size)


@dataclass(slots=True)
class DayTotals:
    trading_day: date
    realized_gross: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    entries: int = 0

    @property
    def realized_net(self) -> Decimal:
        return self.realized_gross - self.fees


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one fill did: the realized PnL of its closing part and how much it opened."""

    realized: Decimal
    closed: int
    opened: int
    position: Position | None  # None when the fill left the symbol flat


@dataclass(slots=True)
class AccountState:
    account_id: str
    name: str
    balance: Decimal
    can_trade: bool
    day: DayTotals
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    connected: bool = False
    last_event_at: datetime | None = None
    # The day's realized PnL that `balance` already includes. Brokers report the balance after
    # the fill, so a closed trade's PnL is counted from our own books until the balance follows.
    realized_in_balance: Decimal | None = None

    @property
    def unrealized(self) -> Decimal:
        total = ZERO  # a plain loop: asked several times per quote, cheaper than sum(genexpr)
        for position in self.positions.values():
            total += position.unrealized
        return total

    @property
    def booked(self) -> Decimal:
        """The value without open positions: balance + realized PnL not yet in the balance."""
        if self.realized_in_balance is None:
            return self.balance
        return self.balance + self.day.realized_net - self.realized_in_balance

    @property
    def equity(self) -> Decimal:
        """Account value: `booked` + unrealized PnL."""
        return self.booked + self.unrealized

    @property
    def gross_contracts(self) -> int:
        return sum(abs(p.size) for p in self.positions.values())

    def apply_fill(self, fill: Fill, spec: ContractSpec) -> FillEffect:
        """Book a fill: position, average price, realized PnL and fees of the day."""
        current = self.positions.get(fill.symbol)
        size, avg = (current.size, current.avg_price) if current else (0, ZERO)
        outcome = apply_fill(spec, size, avg, fill.signed_qty, fill.price)
        self.day.realized_gross += outcome.realized
        self.day.fees += fill.fee
        self.day.fills += 1
        self.day.entries += 1 if outcome.opened else 0
        if outcome.size == 0:
            self.positions.pop(fill.symbol, None)
            position = None
        else:
            opened_at = (
                fill.ts
                if current is None or outcome.opened == abs(outcome.size)
                else (current.opened_at)
            )
            position = Position(fill.symbol, spec, outcome.size, outcome.avg_price, opened_at)
            position.mark(current.last_price if current and current.last_price else fill.price)
            self.positions[fill.symbol] = position
        return FillEffect(outcome.realized, outcome.closed, outcome.opened, position)

    def start_day(self, day: date) -> None:
        """Zero the day's PnL and counters; positions carry over."""
        self.day = DayTotals(day)
        self.realized_in_balance = ZERO

    def pnl(self) -> dict[str, Decimal]:
        """The figures the API and the rules read."""
        unrealized = cents(self.unrealized)
        return {
            "realized_gross": self.day.realized_gross,
            "fees": self.day.fees,
            "realized": self.day.realized_net,
            "unrealized": unrealized,
            "total": self.day.realized_net + unrealized,
            "balance": self.balance,
        }
