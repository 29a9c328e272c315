"""The adapter against the fake Gateway: reads, events, actions, and lost replies."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from loguru import logger

from risk_manager.brokers.base import OutcomeUnknown
from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Fill,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from tests.projectx.conftest import ACCOUNT_ID, ES, MNQ, Session, in_thread, run_session
from tests.projectx.fake_gateway.exchange import ASK, STOP
from tests.projectx.fake_gateway.server import FakeGateway


def test_reads_map_gateway_shapes_to_the_daemons(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.buy(ACCOUNT_ID, ES, 2)
    gateway.wait_until(lambda: gateway.state.exchange.position_size(ACCOUNT_ID, ES) == 2)
    gateway.trade(ACCOUNT_ID, ES, ASK, 2, type_=STOP, stop="5990")

    async def scenario(session: Session) -> None:
        broker = session.broker
        infos = {a.account_id: a for a in await broker.accounts()}
        assert infos["PX-1"].can_trade
        assert infos["PX-1"].name == "PRAC-V2-4011"
        assert "4012" in infos  # seen by the login, not configured: listed under its own id
        [position] = await broker.open_positions("PX-1")
        assert (position.symbol, position.size, position.avg_price) == ("ESZ25", 2, Decimal(6000))
        [order] = await broker.open_orders("PX-1")
        assert (order.symbol, order.side, order.stop_price) == ("ESZ25", Side.SELL, Decimal(5990))
        [fill] = await broker.fills_since("PX-1", order.updated_at.replace(year=2000))
        assert fill.event_id.startswith("px:trade:")
        assert int(fill.event_id[9:]) > 2**31
        assert broker.contract_spec("ESZ25").tick_value == Decimal("12.5")

    run_session(gateway, tmp_path, scenario)


def test_unknown_product_is_priced_from_search_by_id_and_cached(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    exotic = "CON.F.US.ZZX.Z25"
    gateway.set_price(exotic, "100")

    async def first(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, exotic, 1)
        fill = await session.wait_for(lambda e: isinstance(e, Fill))
        assert session.broker.contract_spec(fill.symbol).tick_value == Decimal(7)

    run_session(gateway, tmp_path, first)
    assert len(gateway.requests("Contract/searchById")) == 1

    async def second(session: Session) -> None:  # a restart: the cache file answers
        assert session.broker.contract_spec("ZZXZ25").tick_size == Decimal("0.5")

    run_session(gateway, tmp_path, second)
    assert len(gateway.requests("Contract/searchById")) == 1


@pytest.mark.parametrize("wrap", [True, False])
def test_pushes_become_events_wrapped_or_flat(
    gateway: FakeGateway, tmp_path: Path, wrap: bool
) -> None:
    gateway.set(wrap=wrap)

    async def scenario(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 3)
        fill = await session.wait_for(lambda e: isinstance(e, Fill))
        assert (fill.account_id, fill.symbol, fill.signed_qty) == ("PX-1", "MNQZ25", 3)
        assert fill.fee == Decimal("1.11")
        await session.wait_for(lambda e: isinstance(e, OrderUpdate) and e.order.quantity == 3)
        account = await session.wait_for(lambda e: isinstance(e, AccountUpdate))
        assert account.account_id == "PX-1"
        assert account.balance == Decimal("49998.89")
        # Only the configured account's pushes arrive.
        await in_thread(gateway.buy, 4_012, MNQ, 1)
        await in_thread(gateway.set_can_trade, ACCOUNT_ID, False)
        await session.wait_for(lambda e: isinstance(e, AccountUpdate) and not e.can_trade)
        assert all(getattr(e, "account_id", "PX-1") == "PX-1" for e in session.events)

    run_session(gateway, tmp_path, scenario)


def test_close_cancels_the_brackets_closecontract_leaves(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 2, brackets={"stop": 20, "target": 40})
        await in_thread(
            gateway.wait_until, lambda: len(gateway.state.exchange.working(ACCOUNT_ID)) == 2
        )
        result = await session.broker.close_position("PX-1", "MNQZ25")
        assert result.ok, result
        exchange = gateway.state.exchange
        await in_thread(gateway.wait_until, lambda: exchange.position_size(ACCOUNT_ID, MNQ) == 0)
        assert gateway.working(ACCOUNT_ID) == []

    run_session(gateway, tmp_path, scenario)
    assert len(gateway.requests("Position/closeContract")) == 1
    assert len(gateway.requests("Order/cancel")) == 2


def test_a_reply_lost_after_acting_is_reconciled_not_resent(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 1)
        await session.wait_for(lambda e: isinstance(e, Fill))
        await in_thread(gateway.fail, "Position/closeContract", "500", act=True)
        result = await session.broker.close_position("PX-1", "MNQZ25")
        assert result.ok
        assert "reconciled" in result.raw

    run_session(gateway, tmp_path, scenario)
    assert len(gateway.requests("Position/closeContract")) == 1
    assert gateway.position(ACCOUNT_ID, MNQ) == 0


def test_a_429_that_did_not_act_is_reported_unknown_not_retried(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 1)
        await session.wait_for(lambda e: isinstance(e, Fill))
        await in_thread(gateway.fail, "Position/closeContract", "429")
        with pytest.raises(OutcomeUnknown):
            await session.broker.close_position("PX-1", "MNQZ25")

    run_session(gateway, tmp_path, scenario)
    assert len(gateway.requests("Position/closeContract")) == 1
    assert gateway.position(ACCOUNT_ID, MNQ) == 1


def test_a_lost_order_placement_is_found_by_its_tag(gateway: FakeGateway, tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.fail, "Order/place", "hang", act=True, hang_seconds=5)
        result = await session.broker.place_order(
            "PX-1", "MNQZ25", Side.SELL, 1, OrderType.STOP, stop_price=Decimal("20900")
        )
        assert result.ok
        assert result.order_id is not None
        [order] = await session.broker.open_orders("PX-1")
        assert order.order_id == result.order_id

    run_session(gateway, tmp_path, scenario)
    assert len(gateway.requests("Order/place")) == 1


def test_refused_close_is_a_clean_refusal(gateway: FakeGateway, tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        result = await session.broker.close_position("PX-1", "MNQZ25")
        assert not result.ok
        assert "errorCode 2" in (result.error or "")

    run_session(gateway, tmp_path, scenario)


def _links(session: Session) -> list[bool]:
    return [e.connected for e in session.events if isinstance(e, ConnectionChange)]


def test_dropped_socket_reconnects_resubscribes_and_announces_both_edges(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        assert _links(session) == [True]
        assert await in_thread(gateway.drop, "user") == 1
        await session.wait_for(lambda e: _links(session) == [True, False, True])
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 1)  # only a renewed subscription sees it
        await session.wait_for(lambda e: isinstance(e, Fill))

    run_session(gateway, tmp_path, scenario)
    assert len(gateway.requests("Auth/loginKey")) == 1  # the valid token was reused


def test_gateway_logout_is_alerted_and_the_session_comes_back(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.logout)
        await session.wait_for(lambda e: _links(session) == [True, False, True])
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 1)
        await session.wait_for(lambda e: isinstance(e, Fill))
        [(kind, message)] = session.alerts
        assert kind == "broker_logged_out"
        assert "GatewayLogout" in message

    run_session(gateway, tmp_path, scenario)


def test_a_refused_login_on_reconnect_is_alerted_once_and_retried(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.set, login_error=7)
        await in_thread(gateway.expire_tokens)
        await in_thread(gateway.drop, "user")
        await session.wait_for(lambda e: len(gateway.requests("Auth/loginKey")) >= 4, within=15)
        assert session.alerts == [
            ("broker_login_refused", "ProjectX login refused, errorCode 7: the user has not "
             "signed the platform agreements (login refused)")
        ]  # fmt: skip
        await in_thread(gateway.set, login_error=0)  # fixed on the platform: back by itself
        await session.wait_for(lambda e: _links(session) == [True, False, True], within=15)

    run_session(gateway, tmp_path, scenario)


def test_malformed_pushes_are_logged_once_and_skipped(gateway: FakeGateway, tmp_path: Path) -> None:
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(str(message)), level="WARNING")
    bad = {"type": 1, "target": "GatewayUserTrade", "arguments": [{"action": 1, "data": {
        "id": 5, "accountId": ACCOUNT_ID, "contractId": MNQ, "side": 9, "size": 1}}]}  # fmt: skip
    odd = {"type": 1, "target": "GatewayUserSomethingNew", "arguments": [{}]}

    async def scenario(session: Session) -> None:
        for _ in range(3):
            await in_thread(gateway.push, "user", [bad, odd, bad])
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 2)
        fill = await session.wait_for(lambda e: isinstance(e, Fill))
        assert fill.quantity == 2

    try:
        run_session(gateway, tmp_path, scenario)
    finally:
        logger.remove(sink)
    assert sum("malformed GatewayUserTrade" in line for line in logged) == 1
    assert not [e for e in logged if "Traceback" in e]


def test_stalled_feed_is_noticed_over_rest_and_reconnected(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.stall, "user")
        await in_thread(gateway.buy, ACCOUNT_ID, MNQ, 1)  # its pushes are lost
        change = await session.wait_for(
            lambda e: isinstance(e, ConnectionChange) and not e.connected, within=15
        )
        assert "stalled" in change.reason
        await session.wait_for(lambda e: _links(session) == [True, False, True], within=15)
        assert not [e for e in session.events if isinstance(e, Fill)]  # REST is the remedy

    run_session(gateway, tmp_path, scenario, stall_seconds=1.0)


def test_quotes_follow_held_contracts(gateway: FakeGateway, tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        await in_thread(gateway.buy, ACCOUNT_ID, ES, 1)
        await session.wait_for(lambda e: isinstance(e, Fill))
        await asyncio.sleep(0.3)  # the quote subscription follows the fill
        await in_thread(gateway.set_price, ES, "6001.25")
        quote = await session.wait_for(lambda e: isinstance(e, Quote) and e.last is not None)
        assert (quote.symbol, quote.price) == ("ESZ25", Decimal("6001.25"))

    run_session(gateway, tmp_path, scenario)
