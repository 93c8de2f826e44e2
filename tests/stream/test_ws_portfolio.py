"""Live P&L on ``portfolio:{id}``: the owner sees values move with the feed's ticks and with their own writes;
nobody else can subscribe, and nothing of the portfolio leaks in the refusal."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import orjson

from tests.stream.helpers import Stream, codes_of, quiet, receive_type, request
from tests.support.app import stock_detail


async def _portfolio_with(stream: Stream, code: str, quantity: int, price: int, day: dt.date) -> str:
    response = await stream.live.http.post(
        "/v1/portfolios", json={"name": f"live-{uuid.uuid4().hex[:8]}"}, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    portfolio_id: str = response.json()["id"]
    body = {"stock_code": code, "quantity": quantity, "avg_price": price, "purchase_date": day.isoformat()}
    response = await stream.live.http.post(
        f"/v1/portfolios/{portfolio_id}/holdings", json=body, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    return portfolio_id


def _on_grid_price(stream: Stream, code: str) -> tuple[int, dt.date]:
    detail = stock_detail(stream.app, code)
    return int(detail["latest_price"]["close_price"]), detail["latest_price"]["trade_date"]


async def test_owner_sees_values_move_with_ticks(stream: Stream) -> None:
    code = next(c for c in codes_of(stream) if 50_000 <= _on_grid_price(stream, c)[0] < 200_000)
    _, day = _on_grid_price(stream, code)
    portfolio_id = await _portfolio_with(stream, code, 10, 68_000, day)
    async with stream.connect(stream.free) as ws:
        ack = await request(ws, {"type": "subscribe", "portfolio_id": portfolio_id}, "subscribed")
        assert ack["subscriptions"] == [{"portfolio_id": portfolio_id}]
        first = await receive_type(ws, "portfolio_update")
        assert first["portfolio_id"] == portfolio_id
        assert first["data"]["holdings"][0]["stock_code"] == code
        # A tick from the feed: 10 shares bought at 68,000, now 71,000 (the API spec's example).
        await stream.publish("ticks", orjson.dumps([[code, 71_000, 1_000, 71_000_000, day.isoformat()]]))
        update = await receive_type(ws, "portfolio_update")
        holding = update["data"]["holdings"][0]
        assert holding["current_price"] == 71_000
        assert holding["purchase_value"] == 680_000
        assert holding["current_value"] == 710_000
        assert holding["unrealized_gain"] == 30_000
        assert holding["unrealized_gain_pct"] == 4.41
        assert update["data"]["summary"]["total_unrealized_gain"] == 30_000
        assert update["sequence"] == first["sequence"] + 1
        # The owner's own write (a second buy) reaches the channel once it commits.
        body = {"side": "buy", "stock_code": code, "quantity": 10, "price": 70_000, "trade_date": day.isoformat()}
        response = await stream.live.http.post(
            f"/v1/portfolios/{portfolio_id}/transactions", json=body, headers=stream.free.headers
        )
        assert response.status_code == 201, response.text
        update = await receive_type(ws, "portfolio_update")
        holding = update["data"]["holdings"][0]
        assert holding["quantity"] == 20
        assert holding["purchase_value"] == 1_380_000
        assert holding["current_value"] == 1_420_000


async def test_another_users_portfolio_is_not_found_and_nothing_leaks(stream: Stream) -> None:
    code = codes_of(stream)[1]
    price, day = _on_grid_price(stream, code)
    portfolio_id = await _portfolio_with(stream, code, 1, price, day)
    async with stream.connect(stream.other) as ws:
        error = await request(ws, {"type": "subscribe", "portfolio_id": portfolio_id}, "error")
        assert error["code"] == "NOT_FOUND"
        assert error["details"] == {"portfolio_id": portfolio_id}
        missing = await request(
            ws, {"type": "subscribe", "portfolio_id": "7b0c1f1e-0000-4000-8000-000000000000"}, "error"
        )
        assert {k: v for k, v in missing.items() if k not in ("details", "timestamp")} == {
            k: v for k, v in error.items() if k not in ("details", "timestamp")
        }
        error = await request(ws, {"type": "subscribe", "portfolio_id": "not-a-uuid"}, "error")
        assert error["code"] == "NOT_FOUND"
        await stream.publish("ticks", orjson.dumps([[code, price, 5, price * 5, day.isoformat()]]))
        assert [m for m in await quiet(ws, 0.3) if m["type"] == "portfolio_update"] == []


async def test_ticks_move_the_snapshot_behind_rest_and_screens(stream: Stream) -> None:
    code = codes_of(stream)[4]
    price, day = _on_grid_price(stream, code)
    await stream.publish(
        "ticks", orjson.dumps([[code, price + 10 * (1 if price < 20_000 else 100), 7, 7, day.isoformat()]])
    )
    for _ in range(50):
        response = await stream.live.http.get(f"/v1/stocks/{code}")
        if response.json()["latest_price"]["close_price"] != price:
            break
        await asyncio.sleep(0.02)
    assert response.json()["latest_price"]["close_price"] > price
    assert response.json()["latest_price"]["volume"] == 7
