"""The ``account:{id}`` channel: the owner receives every order event in order (never conflated) and live P&L as
prices move; nobody else can subscribe, and nothing of the account leaks in the refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from kstock.feed.payloads import orderbook_data, price_data
from kstock.kit.calendar import KST
from kstock.sources import OrderBook, Phase, Trade
from tests.stream.helpers import Stream, codes_of, receive_type, request
from tests.support.app import stock_detail


def _price(stream: Stream, code: str) -> int:
    return int(stock_detail(stream.app, code)["latest_price"]["close_price"])


async def _market(stream: Stream, code: str, price: int) -> dt.date:
    """The feed's retained messages for ``code``: in session, asks at ``price``, base price ``price``."""
    at = dt.datetime.now(KST).replace(hour=10, minute=0)
    trade = Trade(code, price, 1, 1, price, 0, 0.0, at, Phase.CONTINUOUS)
    book = OrderBook(code, ((price, 1_000),), (), at, Phase.CONTINUOUS)
    await stream.publish("feed.status", {"phase": "continuous", "market_time": at.isoformat()})
    await stream.publish(f"orderbook:{code}", orderbook_data(book))
    await stream.publish(f"price:{code}", price_data(trade))
    return at.date()


async def _account(stream: Stream) -> str:
    response = await stream.live.http.post(
        "/v1/trading/accounts", json={"name": "live", "starting_cash": 100_000_000}, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id


async def _buy(stream: Stream, account_id: str, code: str, quantity: int) -> dict[str, Any]:
    base = f"/v1/trading/accounts/{account_id}/orders"
    body = {"stock_code": code, "side": "buy", "order_type": "market", "quantity": quantity}
    previewed = (await stream.live.http.post(f"{base}/preview", json=body, headers=stream.free.headers)).json()
    assert previewed["passed"], previewed["checks"]
    response = await stream.live.http.post(
        f"{base}/execute", json={"preview_id": previewed["preview_id"]}, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_owner_receives_order_events_in_order_and_live_pnl(stream: Stream) -> None:
    code = next(c for c in codes_of(stream) if 10_000 <= _price(stream, c) < 100_000)
    price = _price(stream, code)
    day = await _market(stream, code, price)
    account_id = await _account(stream)
    async with stream.connect(stream.free) as ws:
        ack = await request(ws, {"type": "subscribe", "account_id": account_id}, "subscribed")
        assert ack["subscriptions"] == [{"account_id": account_id}]
        first = await receive_type(ws, "account_pnl")
        assert first["data"]["equity"] == 100_000_000
        assert first["data"]["positions"] == []

        order = await _buy(stream, account_id, code, 10)
        accepted = await receive_type(ws, "account_update")
        filled = await receive_type(ws, "account_update")
        assert (accepted["data"]["event"], filled["data"]["event"]) == ("order_accepted", "order_filled")
        assert accepted["data"]["order"]["id"] == filled["data"]["order"]["id"] == order["id"]
        assert filled["sequence"] == accepted["sequence"] + 1
        assert filled["data"]["fill"]["quantity"] == 10

        # A tick moves the price: the P&L follows (the buy's commission is part of the cost).
        up = price + 10 * (1_000 if price >= 50_000 else 100)
        await stream.publish("ticks", orjson.dumps([[code, up, 1_000, up * 1_000, day.isoformat()]]))
        for _ in range(10):
            pnl = await receive_type(ws, "account_pnl")
            if pnl["data"]["positions"] and pnl["data"]["positions"][0]["current_price"] == up:
                break
        [position] = pnl["data"]["positions"]
        assert position["market_value"] == 10 * up
        assert pnl["data"]["unrealized_pnl"] == 10 * up - order["filled_amount"] - order["commission"]
        assert pnl["data"]["cash"] == 100_000_000 - order["filled_amount"] - order["commission"]


async def test_another_users_account_is_not_found_and_nothing_leaks(stream: Stream) -> None:
    account_id = await _account_named(stream, "private")
    async with stream.connect(stream.other) as ws:
        error = await request(ws, {"type": "subscribe", "account_id": account_id}, "error")
        assert error["code"] == "NOT_FOUND"
        assert error["details"] == {"account_id": account_id}
        missing = await request(
            ws, {"type": "subscribe", "account_id": "7b0c1f1e-0000-4000-8000-000000000000"}, "error"
        )
        assert missing["code"] == error["code"]
        assert missing["message"] == error["message"]
        bad = await request(ws, {"type": "subscribe", "account_id": account_id, "channels": ["price"]}, "error")
        assert bad["code"] == "INVALID_MESSAGE"
        pong = await request(ws, {"type": "ping"}, "pong")  # the connection stays healthy
        assert pong["type"] == "pong"


async def _account_named(stream: Stream, name: str) -> str:
    response = await stream.live.http.post(
        "/v1/trading/accounts", json={"name": name, "starting_cash": 1_000_000}, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id
