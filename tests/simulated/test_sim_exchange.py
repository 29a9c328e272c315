"""The paper exchange on its own: matching, money, canTrade and bad input (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from risk_manager.brokers.simulated.exchange import PaperExchange, SimOrderError
from risk_manager.domain.contracts import lookup
from risk_manager.domain.events import (
    AccountUpdate,
    Fill,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from risk_manager.domain.money import price_pnl

NOW = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)
D = Decimal


def make_exchange(**kwargs: object) -> PaperExchange:
    exchange = PaperExchange(prices={"MNQ": D("21000"), "CL": D("70.00")}, **kwargs)  # type: ignore[arg-type]
    exchange.add_account("A1", "Alice", D("50000"))
    return exchange


def market(exchange: PaperExchange, side: Side, qty: int, symbol: str = "MNQ") -> None:
    exchange.submit("A1", symbol, side, qty, OrderType.MARKET, NOW)


def test_two_mnq_long_at_21000_priced_20990_is_minus_40_unrealized() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 2)

    exchange.set_prices({"MNQ": D("20990")}, NOW)

    [position] = exchange.positions("A1")
    assert (position.size, position.avg_price) == (2, D("21000"))
    spec = lookup("MNQ")
    assert (spec.tick_size, spec.tick_value) == (D("0.25"), D("0.50"))
    assert price_pnl(spec, position.avg_price, exchange.price("MNQ"), position.size) == D("-40")


def test_round_trip_realizes_minus_120_and_takes_four_sides_of_fees() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 2)
    exchange.set_prices({"MNQ": D("20970")}, NOW)

    market(exchange, Side.SELL, 2)

    assert exchange.positions("A1") == []
    assert exchange.account("A1").balance == D("50000") - D("120") - 4 * D("0.37")
    assert [f.fee for f in exchange.fills_since("A1", NOW)] == [D("0.74"), D("0.74")]


def test_market_order_emits_working_fill_filled_account_in_order() -> None:
    exchange = make_exchange()

    order, changes = exchange.submit("A1", "mnq", Side.BUY, 1, OrderType.MARKET, NOW)

    assert order.status is OrderStatus.FILLED
    assert [type(e) for e in changes.events] == [
        Quote,
        OrderUpdate,
        Fill,
        OrderUpdate,
        AccountUpdate,
    ]
    ids = [e.event_id for e in changes.events[1:]]  # type: ignore[union-attr]
    assert ids == ["order:1:working", "fill:1", "order:1:filled", "account:A1:1"]
    fill = changes.events[2]
    assert isinstance(fill, Fill)
    assert (fill.symbol, fill.price, fill.fee, fill.order_id, fill.ts) == (
        "MNQ",
        D("21000.00"),
        D("0.37"),
        "1",
        NOW,
    )
    account = changes.events[4]
    assert isinstance(account, AccountUpdate)
    assert account.balance == D("49999.63")


def test_buy_limit_works_until_price_reaches_it_then_fills_at_the_limit() -> None:
    exchange = make_exchange()
    order, _ = exchange.submit(
        "A1", "MNQ", Side.BUY, 1, OrderType.LIMIT, NOW, limit_price=D("20990")
    )
    assert order.status is OrderStatus.WORKING

    exchange.set_prices({"MNQ": D("20995")}, NOW)
    assert [o.order_id for o in exchange.working_orders("A1")] == [order.order_id]

    changes = exchange.set_prices({"MNQ": D("20980")}, NOW)  # gaps through the limit
    assert exchange.working_orders("A1") == []
    [fill] = [e for e in changes.events if isinstance(e, Fill)]
    assert fill.price == D("20990")
    assert isinstance(changes.events[0], Quote)  # the quote comes before what it triggers


def test_sell_limit_fills_when_price_rises_to_it() -> None:
    exchange = make_exchange()
    exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.LIMIT, NOW, limit_price=D("21005"))
    exchange.set_prices({"MNQ": D("21004.75")}, NOW)
    assert exchange.position_size("A1", "MNQ") == 0

    exchange.set_prices({"MNQ": D("21005")}, NOW)

    assert exchange.position_size("A1", "MNQ") == -1


def test_marketable_limit_fills_at_the_better_market_price() -> None:
    exchange = make_exchange()

    exchange.submit("A1", "MNQ", Side.BUY, 1, OrderType.LIMIT, NOW, limit_price=D("21010"))

    assert exchange.fills_since("A1", NOW)[0].price == D("21000")


def test_buy_stop_triggers_at_or_above_the_stop_and_fills_at_the_price() -> None:
    exchange = make_exchange()
    exchange.submit("A1", "MNQ", Side.BUY, 1, OrderType.STOP, NOW, stop_price=D("21010"))
    exchange.set_prices({"MNQ": D("21009.75")}, NOW)
    assert exchange.position_size("A1", "MNQ") == 0

    exchange.set_prices({"MNQ": D("21012")}, NOW)

    assert exchange.fills_since("A1", NOW)[0].price == D("21012")


def test_sell_stop_protects_a_long_position() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 1)
    exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.STOP, NOW, stop_price=D("20990"))

    exchange.set_prices({"MNQ": D("20989.50")}, NOW)

    assert exchange.positions("A1") == []
    assert exchange.account("A1").balance == D("50000") - D("21") - 2 * D("0.37")


def test_stop_limit_becomes_a_limit_once_its_stop_is_hit() -> None:
    exchange = make_exchange()
    exchange.submit(
        "A1",
        "MNQ",
        Side.BUY,
        1,
        OrderType.STOP_LIMIT,
        NOW,
        limit_price=D("21010"),
        stop_price=D("21005"),
    )
    exchange.set_prices({"MNQ": D("21020")}, NOW)  # stop hit, but above the limit
    assert exchange.position_size("A1", "MNQ") == 0

    exchange.set_prices({"MNQ": D("21008")}, NOW)

    assert exchange.fills_since("A1", NOW)[0].price == D("21010")


def test_a_fill_against_the_position_can_flip_it() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 1)
    exchange.set_prices({"MNQ": D("21010")}, NOW)

    market(exchange, Side.SELL, 3)

    [position] = exchange.positions("A1")
    assert (position.size, position.avg_price) == (-2, D("21010"))


def test_configured_fee_overrides_the_table() -> None:
    exchange = make_exchange(fees={"mnq": D("0.50")})
    market(exchange, Side.BUY, 3)
    assert exchange.fills_since("A1", NOW)[0].fee == D("1.50")


def test_locked_account_rejects_new_exposure_but_allows_closing() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 2)
    changes = exchange.set_can_trade("A1", False, NOW)
    [update] = changes.events
    assert isinstance(update, AccountUpdate)
    assert not update.can_trade

    added, changes = exchange.submit("A1", "MNQ", Side.BUY, 1, OrderType.MARKET, NOW)
    flipped, _ = exchange.submit("A1", "MNQ", Side.SELL, 3, OrderType.MARKET, NOW)
    other, _ = exchange.submit("A1", "CL", Side.SELL, 1, OrderType.MARKET, NOW)
    reduced, _ = exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.MARKET, NOW)

    assert [o.status for o in (added, flipped, other, reduced)] == [
        OrderStatus.REJECTED,
        OrderStatus.REJECTED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
    ]
    assert changes.events[-1].event_id == f"order:{added.order_id}:rejected"  # type: ignore[union-attr]
    assert exchange.position_size("A1", "MNQ") == 1


def test_resting_entry_order_of_a_locked_account_is_cancelled_not_filled() -> None:
    exchange = make_exchange()
    order, _ = exchange.submit(
        "A1", "MNQ", Side.BUY, 1, OrderType.LIMIT, NOW, limit_price=D("20990")
    )
    exchange.set_can_trade("A1", False, NOW)

    changes = exchange.set_prices({"MNQ": D("20990")}, NOW)

    assert exchange.position_size("A1", "MNQ") == 0
    assert changes.events[-1].event_id == f"order:{order.order_id}:cancelled"  # type: ignore[union-attr]


def test_cancel_and_modify_a_stop() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 1)
    stop, _ = exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.STOP, NOW, stop_price=D("20950"))

    moved, changes = exchange.modify_stop("A1", stop.order_id, D("20980"), NOW)
    assert moved.stop_price == D("20980")
    assert changes.events[0].event_id == f"order:{stop.order_id}:working:1"  # type: ignore[union-attr]

    cancelled, _ = exchange.cancel("A1", stop.order_id, NOW)
    assert cancelled.status is OrderStatus.CANCELLED
    assert exchange.working_orders("A1") == []
    with pytest.raises(SimOrderError, match="no working order"):
        exchange.cancel("A1", stop.order_id, NOW)


def test_moving_a_stop_through_the_market_triggers_it() -> None:
    exchange = make_exchange()
    market(exchange, Side.BUY, 1)
    stop, _ = exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.STOP, NOW, stop_price=D("20950"))

    moved, _ = exchange.modify_stop("A1", stop.order_id, D("21000.25"), NOW)

    assert moved.status is OrderStatus.FILLED
    assert exchange.positions("A1") == []


def test_fills_since_filters_by_time() -> None:
    exchange = make_exchange()
    exchange.submit("A1", "MNQ", Side.BUY, 1, OrderType.MARKET, NOW)
    later = NOW + timedelta(minutes=5)
    exchange.submit("A1", "MNQ", Side.SELL, 1, OrderType.MARKET, later)

    assert [f.event_id for f in exchange.fills_since("A1", later)] == ["fill:2"]
    assert exchange.fills_since("B2", NOW) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"account_id": "nope"}, "unknown account"),
        ({"symbol": "ZZZ"}, "unknown symbol"),
        ({"quantity": 0}, "positive whole number"),
        ({"quantity": -1}, "positive whole number"),
        ({"quantity": True}, "positive whole number"),
        ({"order_type": OrderType.LIMIT}, "needs a limit price"),
        ({"order_type": OrderType.STOP}, "needs a stop price"),
        ({"stop_price": D("21000")}, "takes no stop price"),
        ({"order_type": OrderType.LIMIT, "limit_price": D("21000.10")}, "tick size"),
        ({"order_type": OrderType.LIMIT, "limit_price": D("-1")}, "positive"),
        ({"order_type": OrderType.TRAILING_STOP}, "does not support"),
        ({"order_type": "iceberg"}, "iceberg"),
    ],
)
def test_bad_order_input_raises_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    exchange = make_exchange()
    args: dict[str, object] = {
        "account_id": "A1",
        "symbol": "MNQ",
        "side": Side.BUY,
        "quantity": 1,
        "order_type": OrderType.MARKET,
        "now": NOW,
    }
    args.update(kwargs)
    with pytest.raises(SimOrderError, match=message):
        exchange.submit(**args)  # type: ignore[arg-type]
    assert exchange.working_orders("A1") == []


def test_off_grid_price_move_is_refused() -> None:
    exchange = make_exchange()
    exchange.list_symbol("MNQ", NOW)
    exchange.list_symbol("CL", NOW)
    with pytest.raises(ValueError, match="tick size"):
        exchange.set_prices({"MNQ": D("21001"), "CL": D("70.005")}, NOW)
    assert (exchange.price("MNQ"), exchange.price("CL")) == (D("21000"), D("70.00"))
