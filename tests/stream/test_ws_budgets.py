"""Per-user stream budgets: open connections and streamed codes are counted over all of a user's connections, on
every instance (through Redis), and failed WebSocket authentications are throttled per address."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kstock.identity.principal import Principal, Role, Tier
from kstock.stream.budget import StreamBudget
from tests.stream.helpers import Stream, codes_of, receive, request, stream_app, until_closed
from tests.stream.test_ws_credentials import closed, still_open
from tests.support.accounts import make_account
from tests.support.app import app_state, running, serving
from tests.support.databases import REDIS_URL, DatabaseFactory, stream_settings


async def _ack_or_error(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = await receive(ws)
        if message["type"] in ("subscribed", "error"):
            return message


async def test_a_user_holds_at_most_the_tiers_connections(stream: Stream) -> None:
    account = await make_account(stream.live, "two@example.com")
    async with stream.connect(account) as first, stream.connect(account) as second:
        await still_open(first)
        await still_open(second)
        async with stream.connect(account) as third:
            assert await closed(third) == (1008, "The free tier keeps at most 2 open stream connections")
        await still_open(first)
    # Closed connections give their place back (the server lets go of them a moment after the client left).
    for _ in range(50):
        async with stream.connect(account) as again:
            try:
                await still_open(again)
                break
            except ConnectionClosed:
                await asyncio.sleep(0.1)
    else:
        raise AssertionError("the closed connections were not given back")


async def test_codes_are_counted_over_all_connections_of_a_user(stream: Stream) -> None:
    account = await make_account(stream.live, "codes@example.com")
    codes = codes_of(stream)
    async with stream.connect(account) as first, stream.connect(account) as second:
        ack = await request(first, {"type": "subscribe", "stock_codes": codes[:15]}, "subscribed")
        assert (ack["codes"], ack["limit"]) == (15, 20)
        error = await request(second, {"type": "subscribe", "stock_codes": codes[15:25]}, "error")
        assert error["code"] == "SUBSCRIPTION_LIMIT"
        assert (
            error["message"] == "The free tier keeps at most 20 stock codes streamed at once, all connections together"
        )
        assert {k: error["details"][k] for k in ("limit", "subscribed", "requested", "required_tier")} == {
            "limit": 20,
            "subscribed": 15,
            "requested": 25,
            "required_tier": "basic",
        }
        ack = await request(second, {"type": "subscribe", "stock_codes": codes[15:20]}, "subscribed")
        assert ack["codes"] == 5  # nothing of the refused subscribe was kept
        await request(first, {"type": "unsubscribe", "stock_codes": codes[:5]}, "unsubscribed")
        ack = await request(second, {"type": "subscribe", "stock_codes": codes[20:25]}, "subscribed")
        assert ack["codes"] == 10
    # A closed connection gives its codes back.
    async with stream.connect(account) as alone:
        for _ in range(50):
            await alone.send(orjson.dumps({"type": "subscribe", "stock_codes": codes[:20]}).decode())
            reply = await _ack_or_error(alone)
            if reply["type"] == "subscribed":
                assert reply["codes"] == 20
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the closed connections' codes were not given back")


async def test_budgets_hold_across_instances(db_factory: DatabaseFactory) -> None:
    prefix = f"kstock-test:{uuid.uuid4().hex[:8]}:"
    settings = await stream_settings(db_factory, "stream_budgets", redis_url=REDIS_URL, redis_prefix=prefix)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(settings))
        second = await stack.enter_async_context(running(settings))
        urls = [await stack.enter_async_context(serving(app.app)) for app in (first, second)]
        account = await make_account(first, "everywhere@example.com")
        codes = list(app_state(first.app).market_snapshot.table.codes)

        def connect_to(url: str) -> connect:
            return connect(f"{url}/ws/stocks?token={account.access_token}")

        here = await stack.enter_async_context(connect_to(urls[0]))
        there = await stack.enter_async_context(connect_to(urls[1]))
        await request(here, {"type": "subscribe", "stock_codes": codes[:15]}, "subscribed")
        error = await request(there, {"type": "subscribe", "stock_codes": codes[15:25]}, "error")
        assert (error["code"], error["details"]["subscribed"]) == ("SUBSCRIPTION_LIMIT", 15)
        await request(there, {"type": "subscribe", "stock_codes": codes[15:20]}, "subscribed")
        # Two connections, one on each instance: a third is refused by either.
        async with connect_to(urls[0]) as third:
            assert (await closed(third))[0] == 1008
        async with connect_to(urls[1]) as third:
            assert (await closed(third))[0] == 1008


async def test_a_crashed_instances_budget_is_forgotten() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    prefix = f"kstock-test:{uuid.uuid4().hex[:8]}:"
    principal = Principal(uuid.uuid4(), "gone@example.com", Tier.FREE, Role.USER, frozenset())
    crashed = StreamBudget(redis, prefix, refresh_s=0.5)  # its numbers live 2 s unless rewritten
    alive = StreamBudget(redis, prefix, refresh_s=0.5)
    try:
        assert await crashed.acquire(principal, connections=2, codes=20) is None
        refused = await alive.acquire(principal, connections=1)
        assert refused is not None
        assert (refused.quota, refused.limit, refused.total) == ("stream_connections", 2, 3)
        await alive.start()
        await asyncio.sleep(2.5)  # `crashed` never wrote again
        assert await alive.acquire(principal, connections=1, codes=20) is None
        await asyncio.sleep(1.5)  # `alive` keeps its own numbers alive
        assert await crashed.acquire(principal, codes=1) is not None
    finally:
        await alive.stop()
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_failed_authentications_are_throttled_per_address(db_factory: DatabaseFactory) -> None:
    settings = await stream_settings(db_factory, "stream_throttle", login_failures_per_ip="3/15minutes")
    async with stream_app(settings) as stream:
        for token in ("not-a-jwt", "ks_0000_unknownkey", stream.free.access_token[:-4] + "AAAA"):
            async with stream.connect(token=token) as ws:
                code, reason = await closed(ws)
                assert code == 1008
                assert not reason.startswith("Too many")
        # Spent: even a good credential is refused, without being looked at.
        async with stream.connect(stream.free) as ws:
            code, reason = await closed(ws)
        assert code == 1008
        assert reason.startswith("Too many failed authentications from this address; retry in ")
        # HTTP logins from the address share the allowance.
        response = await stream.live.http.post(
            "/v1/auth/login", json={"email": stream.free.email, "password": stream.free.password}
        )
        assert response.status_code == 429
        assert await until_closed(await stream.connect(token=""), 3) == 1008  # a missing credential is no guess
