"""The /ws/stocks protocol over a real socket: credentials, acknowledgements, errors, snapshots, updates."""

from __future__ import annotations

import asyncio

import orjson

from tests.stream.helpers import Stream, codes_of, quiet, receive, receive_type, request, until_closed
from tests.support.app import broker_of, hub_of, stock_detail


async def _closed_code(stream: Stream, token: str) -> int | None:
    async with stream.connect(token=token) as ws:
        return await until_closed(ws)


async def test_missing_or_bad_credentials_close_with_1008(stream: Stream) -> None:
    assert await _closed_code(stream, "") == 1008
    assert await _closed_code(stream, "not-a-jwt") == 1008
    assert await _closed_code(stream, stream.free.access_token[:-4] + "AAAA") == 1008
    assert await _closed_code(stream, "ks_0000_unknownkey") == 1008


async def test_api_key_in_the_query_string_is_accepted(stream: Stream) -> None:
    response = await stream.live.http.post(
        "/v1/api-keys", json={"name": "ws", "scopes": ["read"]}, headers=stream.free.headers
    )
    assert response.status_code == 201, response.text
    async with stream.connect(token=response.json()["key"]) as ws:
        pong = await request(ws, {"type": "ping"}, "pong")
        assert pong["timestamp"].endswith("Z")


async def test_ping_pong_and_errors_keep_the_connection_open(stream: Stream) -> None:
    async with stream.connect() as ws:
        await ws.send("{not json")
        assert (await receive_type(ws, "error"))["code"] == "INVALID_MESSAGE"
        await ws.send("[1, 2]")
        assert (await receive_type(ws, "error"))["code"] == "INVALID_MESSAGE"
        error = await request(ws, {"type": "dance"}, "error")
        assert error["code"] == "UNKNOWN_TYPE"
        assert error["details"]["types"] == ["subscribe", "unsubscribe", "ping"]
        error = await request(ws, {"type": "subscribe", "stock_code": "999999"}, "error")
        assert error["code"] == "UNKNOWN_STOCK"
        error = await request(ws, {"type": "subscribe", "stock_code": "12"}, "error")
        assert error["code"] == "UNKNOWN_STOCK"
        error = await request(ws, {"type": "subscribe", "market": "NYSE"}, "error")
        assert error["code"] == "UNKNOWN_MARKET"
        error = await request(ws, {"type": "subscribe", "sector": "우주항공여행"}, "error")
        assert error["code"] == "UNKNOWN_SECTOR"
        assert "전기전자" in error["details"]["sectors"]
        error = await request(ws, {"type": "subscribe", "stock_code": "005930", "market": "KOSPI"}, "error")
        assert error["code"] == "INVALID_MESSAGE"
        error = await request(ws, {"type": "subscribe", "stock_code": "005930", "channels": ["trades"]}, "error")
        assert error["code"] == "INVALID_MESSAGE"
        pong = await request(ws, {"type": "ping"}, "pong")
        assert pong["type"] == "pong"


async def test_subscribe_acknowledges_with_the_full_list_and_sends_a_snapshot(stream: Stream) -> None:
    code, other = codes_of(stream)[:2]
    async with stream.connect() as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stock_code": code}).decode())
        ack = await receive(ws)
        assert ack["type"] == "subscribed"
        assert ack["stock_code"] == code
        assert ack["subscriptions"] == [{"stock_code": code, "channels": ["price"]}]
        assert ack["limit"] == 20
        snapshot = await receive(ws)
        assert snapshot["type"] == "price_update"
        assert snapshot["stock_code"] == code
        assert snapshot["snapshot"] is True
        detail = stock_detail(stream.app, code)
        assert snapshot["data"]["current_price"] == detail["latest_price"]["close_price"]
        ack = await request(ws, {"type": "subscribe", "stock_code": other}, "subscribed")
        assert [s["stock_code"] for s in ack["subscriptions"]] == [code, other]
        ack = await request(ws, {"type": "unsubscribe", "stock_code": code}, "unsubscribed")
        assert ack["subscriptions"] == [{"stock_code": other, "channels": ["price"]}]


async def test_updates_carry_the_spec_fields_and_gap_free_sequences(stream: Stream) -> None:
    code = codes_of(stream)[2]
    async with stream.connect() as ws:
        await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
        await receive_type(ws, "price_update")  # the snapshot
        sequences = []
        for n in range(12):
            data = {
                "current_price": 75_000 + n * 100,
                "change_amount": 1_000,
                "change_percent": 1.35,
                "volume": 12_500_000 + n,
                "timestamp": "2025-11-09T10:30:15.123Z",
            }
            sequences.append(await stream.publish(f"price:{code}", data))
            update = await receive_type(ws, "price_update")
            assert update["stock_code"] == code
            assert update["data"] == data
            assert update["sequence"] == sequences[-1]
            assert update["conflated"] == 0
            assert update["timestamp"].endswith("Z")
        assert sequences == list(range(sequences[0], sequences[0] + 12))


async def test_a_burst_within_one_window_arrives_once_with_the_last_price(stream: Stream) -> None:
    code = codes_of(stream)[3]
    async with stream.connect() as ws:
        await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
        await receive_type(ws, "price_update")
        broker = broker_of(stream.app)
        burst = [(f"price:{code}", orjson.dumps({"current_price": 50_000 + 10 * n})) for n in range(100)]
        sequences = await broker.publish_many(burst)
        received = [m for m in await quiet(ws, 0.5) if m["type"] == "price_update"]
        assert len(received) == 1
        assert received[0]["data"]["current_price"] == 50_990
        assert received[0]["sequence"] == sequences[-1]
        assert received[0]["conflated"] == 99


async def test_market_and_sector_subscriptions_deliver_their_members(stream: Stream) -> None:
    kosdaq = codes_of(stream, "KOSDAQ")
    async with stream.connect(stream.pro) as ws:
        ack = await request(ws, {"type": "subscribe", "market": "KOSDAQ"}, "subscribed")
        assert ack["codes"] == len(kosdaq)
        snapshots = {m["stock_code"] for m in await quiet(ws, 0.5) if m["type"] == "price_update"}
        assert snapshots == set(kosdaq)
        await stream.publish(f"price:{kosdaq[-1]}", {"current_price": 1_234})
        update = await receive_type(ws, "price_update")
        assert update["stock_code"] == kosdaq[-1]
        await request(ws, {"type": "unsubscribe", "market": "KOSDAQ"}, "unsubscribed")
        await stream.publish(f"price:{kosdaq[-1]}", {"current_price": 1_235})
        assert [m for m in await quiet(ws, 0.3) if m["type"] == "price_update"] == []


async def test_free_tier_is_limited_to_20_codes_and_no_order_books(stream: Stream) -> None:
    codes = codes_of(stream)
    async with stream.connect(stream.free) as ws:
        ack = await request(ws, {"type": "subscribe", "stock_codes": codes[:20]}, "subscribed")
        assert ack["codes"] == 20
        error = await request(ws, {"type": "subscribe", "stock_code": codes[20]}, "error")
        assert error["code"] == "SUBSCRIPTION_LIMIT"
        assert error["details"]["limit"] == 20
        assert error["details"]["required_tier"] == "basic"
        error = await request(ws, {"type": "subscribe", "stock_code": codes[0], "channels": ["orderbook"]}, "error")
        assert error["code"] == "TIER_LIMIT_EXCEEDED"
        assert error["details"]["required_tier"] == "basic"
        ack = await request(ws, {"type": "ping"}, "pong")  # still open, nothing changed
        ack = await request(ws, {"type": "subscribe", "stock_code": codes[0]}, "subscribed")
        assert ack["codes"] == 20


async def test_a_refused_subscribe_subscribes_nothing(stream: Stream) -> None:
    codes = codes_of(stream)
    async with stream.connect(stream.free) as ws:
        await request(ws, {"type": "subscribe", "stock_codes": codes[:15]}, "subscribed")
        error = await request(ws, {"type": "subscribe", "stock_codes": codes[15:25]}, "error")
        assert error["details"]["subscribed"] == 15
        ack = await request(ws, {"type": "subscribe", "stock_codes": codes[15:20]}, "subscribed")
        assert ack["codes"] == 20


async def test_order_books_for_basic_with_levels_as_published(stream: Stream) -> None:
    code = codes_of(stream)[5]
    book = {
        "asks": [
            {"price": 75_100, "volume": 5_000, "total": 5_000},
            {"price": 75_200, "volume": 1_000, "total": 6_000},
        ],
        "bids": [{"price": 75_000, "volume": 2_000, "total": 2_000}],
        "spread": 100,
        "spread_pct": 0.13,
        "timestamp": "2025-11-09T10:30:15.123Z",
    }
    await stream.publish(f"orderbook:{code}", book)
    async with stream.connect(stream.basic) as ws:
        ack = await request(ws, {"type": "subscribe", "stock_code": code, "channels": ["orderbook"]}, "subscribed")
        assert ack["channels"] == ["orderbook"]
        snapshot = await receive_type(ws, "orderbook_update")
        assert snapshot["data"] == book
        assert snapshot["snapshot"] is True
        book["spread"] = 200
        sequence = await stream.publish(f"orderbook:{code}", book)
        update = await receive_type(ws, "orderbook_update")
        assert update["data"]["spread"] == 200
        assert update["sequence"] == sequence


async def test_client_messages_are_rate_limited(stream: Stream) -> None:
    async with stream.connect() as ws:
        for _ in range(80):
            await ws.send('{"type": "ping"}')
        replies = await quiet(ws, 0.5)
        kinds = [m["type"] for m in replies]
        assert kinds.count("pong") >= 50
        assert any(m["type"] == "error" and m["code"] == "RATE_LIMITED" for m in replies)
        await asyncio.sleep(1.1)
        assert (await request(ws, {"type": "ping"}, "pong"))["type"] == "pong"


async def test_one_broker_subscription_per_channel(stream: Stream) -> None:
    code = codes_of(stream)[7]
    broker = broker_of(stream.app)
    async with stream.connect() as first, stream.connect(stream.other) as second:
        await request(first, {"type": "subscribe", "stock_code": code}, "subscribed")
        await request(second, {"type": "subscribe", "stock_code": code}, "subscribed")
        assert f"price:{code}" in broker.subscriptions
        assert len(hub_of(stream.app).rooms[f"price:{code}"]) == 2
        await request(first, {"type": "unsubscribe", "stock_code": code}, "unsubscribed")
        assert f"price:{code}" in broker.subscriptions
    for _ in range(100):
        if f"price:{code}" not in broker.subscriptions:
            break
        await asyncio.sleep(0.02)
    assert f"price:{code}" not in broker.subscriptions


async def test_stream_figures_are_on_the_metrics_endpoint(stream: Stream) -> None:
    async with stream.connect() as ws:
        await request(ws, {"type": "ping"}, "pong")
        text = (await stream.live.http.get("/metrics")).text
    connections = [line for line in text.splitlines() if line.startswith("kstock_ws_connections ")]
    assert connections
    assert float(connections[0].split()[1]) >= 1
    assert "kstock_broker_connected 1.0" in text


async def test_a_client_timestamp_is_accepted_and_ignored(stream: Stream) -> None:
    code = codes_of(stream)[0]
    async with stream.connect() as ws:
        message = {"type": "subscribe", "stock_code": code, "timestamp": "2024-01-15T09:30:00Z"}
        ack = await request(ws, message, "subscribed")
        assert ack["subscriptions"] == [{"stock_code": code, "channels": ["price"]}]
        pong = await request(ws, {"type": "ping", "timestamp": "2024-01-15T09:30:01Z"}, "pong")
        assert pong["type"] == "pong"
        ack = await request(ws, {"type": "unsubscribe", "stock_code": code, "timestamp": "x"}, "unsubscribed")
        assert ack["subscriptions"] == []
        error = await request(ws, {"type": "subscribe", "stock_code": code, "timestamp": 1}, "error")
        assert error["code"] == "INVALID_MESSAGE"
        error = await request(ws, {"type": "subscribe", "stock_code": code, "clock": "x"}, "error")
        assert error["details"] == {"unknown_fields": ["clock"]}


async def test_an_unsubscribe_without_channels_removes_the_whole_target(stream: Stream) -> None:
    code, other = codes_of(stream)[:2]
    async with stream.connect(stream.basic) as ws:
        both = {"channels": ["price", "orderbook"]}
        await request(ws, {"type": "subscribe", "stock_codes": [code, other], **both}, "subscribed")
        ack = await request(ws, {"type": "unsubscribe", "stock_code": code}, "unsubscribed")
        assert ack["subscriptions"] == [{"stock_code": other, "channels": ["orderbook", "price"]}]
        assert ack["codes"] == 1
        ack = await request(ws, {"type": "unsubscribe", "stock_code": other, "channels": ["price"]}, "unsubscribed")
        assert ack["subscriptions"] == [{"stock_code": other, "channels": ["orderbook"]}]
        await quiet(ws, 0.2)
        await stream.publish(f"orderbook:{code}", {"asks": [], "bids": []})
        await stream.publish(f"price:{code}", {"current_price": 1_000})
        assert [m for m in await quiet(ws, 0.3) if m.get("stock_code") == code] == []
