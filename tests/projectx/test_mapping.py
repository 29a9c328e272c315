"""Gateway JSON → normalized values: flat and wrapped records, enums, ids, missing fields."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.brokers.projectx import mapping
from risk_manager.brokers.projectx.mapping import PayloadError
from risk_manager.brokers.projectx.symbols import contract_id_of, symbol_of
from risk_manager.domain.events import OrderStatus, OrderType, Side

NOW = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
TRADE = {"id": 9_100_000_001, "accountId": 4011, "contractId": "CON.F.US.ENQ.U25",
         "creationTimestamp": "2025-06-02T13:59:58.1234567+00:00", "price": 21010.25,
         "profitAndLoss": None, "fees": 1.4, "side": 1, "size": 2, "voided": False,
         "orderId": 9_100_000_000}  # fmt: skip
ORDER = {"id": 77, "accountId": 4011, "contractId": "CON.F.US.EP.U25", "status": 1, "type": 4,
         "side": 0, "size": 1, "stopPrice": 6010.5, "limitPrice": None,
         "creationTimestamp": "2025-06-02T13:00:00Z", "updateTimestamp": None,
         "fillVolume": 0}  # fmt: skip


def test_trade_is_a_fill_with_int64_id_sell_side_and_exchange_symbol() -> None:
    fill = mapping.trade_to_fill(TRADE, "PX-1")
    assert fill.event_id == "px:trade:9100000001"
    assert (fill.symbol, fill.side, fill.quantity) == ("NQU25", Side.SELL, 2)
    assert (fill.price, fill.fee, fill.order_id) == (
        Decimal("21010.25"),
        Decimal("1.4"),
        "9100000000",
    )
    assert fill.ts == datetime(2025, 6, 2, 13, 59, 58, 123456, tzinfo=UTC)


def test_wrapped_and_flat_records_map_the_same() -> None:
    wrapped = mapping.unwrap({"action": 1, "data": TRADE})
    assert mapping.trade_to_fill(wrapped, "A") == mapping.trade_to_fill(mapping.unwrap(TRADE), "A")


@pytest.mark.parametrize(
    ("status", "expected"),
    [(1, OrderStatus.WORKING), (6, OrderStatus.WORKING), (7, OrderStatus.WORKING),
     (8, OrderStatus.WORKING), (2, OrderStatus.FILLED), (3, OrderStatus.CANCELLED),
     (4, OrderStatus.CANCELLED), (5, OrderStatus.REJECTED)],
)  # fmt: skip
def test_order_statuses_follow_the_swagger_enum(status: int, expected: OrderStatus) -> None:
    assert mapping.order_from({**ORDER, "status": status}, "A").status is expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(1, OrderType.LIMIT), (2, OrderType.MARKET), (3, OrderType.STOP_LIMIT), (4, OrderType.STOP),
     (5, OrderType.TRAILING_STOP), (6, OrderType.LIMIT), (7, OrderType.LIMIT)],
)  # fmt: skip
def test_order_types_follow_the_swagger_enum(kind: int, expected: OrderType) -> None:
    order = mapping.order_from({**ORDER, "type": kind}, "A")
    assert order.type is expected
    assert (order.symbol, order.side, order.stop_price) == ("ESU25", Side.BUY, Decimal("6010.5"))


def test_position_size_zero_means_closed_and_short_is_negative() -> None:
    closed = mapping.position_from({"accountId": 4011, "contractId": "C", "type": 1, "size": 0})
    assert closed.size == 0
    short = {"accountId": 4011, "contractId": "CON.F.US.MNQ.U25", "type": 2, "size": 3,
             "averagePrice": 21000.5}  # fmt: skip
    position = mapping.position_from(short).as_broker_position("PX-1")
    assert (position.symbol, position.size, position.avg_price) == (
        "MNQU25",
        -3,
        Decimal("21000.5"),
    )


def test_incremental_update_without_account_uses_the_default() -> None:
    record = {"contractId": "C", "type": 1, "size": 1, "averagePrice": 1}
    assert mapping.position_from(record, "4011").account_id == "4011"
    with pytest.raises(PayloadError, match="accountId"):
        mapping.position_from(record)


def test_quote_with_missing_fields_keeps_what_it_has() -> None:
    quote = mapping.quote_from("CON.F.US.EP.U25", {"symbol": "F.US.EP", "lastPrice": 6000}, NOW)
    assert quote is not None
    assert (quote.symbol, quote.bid, quote.last, quote.ts) == ("ESU25", None, Decimal(6000), NOW)
    assert quote.price == Decimal(6000)
    assert mapping.quote_from("CON.F.US.EP.U25", {"symbol": "F.US.EP", "volume": 3}, NOW) is None


@pytest.mark.parametrize(
    "bad",
    [{**TRADE, "side": 2}, {**TRADE, "size": 0}, {**TRADE, "price": "abc"},
     {**TRADE, "price": float("nan")}, {**TRADE, "id": True}, {**TRADE, "contractId": None},
     {**TRADE, "creationTimestamp": "yesterday"}, {k: v for k, v in TRADE.items() if k != "id"}],
)  # fmt: skip
def test_malformed_trades_raise_payload_error(bad: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        mapping.trade_to_fill(bad, "A")


def test_unknown_order_type_and_non_objects_are_rejected() -> None:
    with pytest.raises(PayloadError):
        mapping.order_from({**ORDER, "type": 0}, "A")
    with pytest.raises(PayloadError):
        mapping.unwrap(["not", "an", "object"])


ROOTS = st.from_regex(r"[A-Z][A-Z0-9]{0,4}", fullmatch=True)
EXPIRY = st.tuples(st.sampled_from("FGHJKMNQUVXZ"), st.integers(0, 99))


@given(ROOTS, EXPIRY)
def test_contract_ids_round_trip_through_symbols(root: str, expiry: tuple[str, int]) -> None:
    from risk_manager.brokers.projectx.symbols import GATEWAY_ROOTS

    contract_id = f"CON.F.US.{root}.{expiry[0]}{expiry[1]:02d}"
    if root in GATEWAY_ROOTS:  # an exchange root the Gateway renames never appears in its ids
        return
    assert contract_id_of(symbol_of(contract_id)) == contract_id


def test_gateway_roots_map_to_exchange_roots_both_ways() -> None:
    assert symbol_of("CON.F.US.EP.Z25") == "ESZ25"
    assert symbol_of("CON.F.US.ENQ.H26") == "NQH26"
    assert symbol_of("CON.F.US.MNQ.Z25") == "MNQZ25"
    assert contract_id_of("6EM26") == "CON.F.US.EU6.M26"
    assert contract_id_of("M2KZ25") == "CON.F.US.M2K.Z25"
    assert symbol_of("odd-id") == "odd-id"
    assert contract_id_of("odd-id") == "odd-id"


def test_a_push_without_timestamps_is_dated_when_received() -> None:
    bare = {k: v for k, v in TRADE.items() if k != "creationTimestamp"}
    assert mapping.trade_to_fill(bare, "A", NOW).ts == NOW
    with pytest.raises(PayloadError):
        mapping.trade_to_fill(bare, "A")  # a REST row must carry its time
    order = {k: v for k, v in ORDER.items() if k not in ("creationTimestamp", "updateTimestamp")}
    assert mapping.order_from(order, "A", NOW).updated_at == NOW
    quote = mapping.quote_from("CON.F.US.EP.U25", {"lastPrice": 1, "timestamp": 17e11}, NOW)
    assert quote is not None
    assert quote.ts == NOW
