"""Many instances: two API apps on one Redis and one publisher (the feed's role) deliver the same sequence of
updates to clients of both. Runs on every pass: Redis is part of the test environment."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import orjson
from websockets.asyncio.client import connect

from kstock.broker import create_broker
from tests.stream.helpers import receive_type, request
from tests.support.accounts import make_account
from tests.support.app import app_state, running, serving
from tests.support.databases import REDIS_URL, DatabaseFactory, stream_settings


async def test_two_instances_deliver_the_same_sequence(db_factory: DatabaseFactory) -> None:
    prefix = f"kstock-test:{uuid.uuid4().hex[:8]}:"
    settings = await stream_settings(db_factory, "stream_instances", redis_url=REDIS_URL, redis_prefix=prefix)
    feed = create_broker(REDIS_URL, prefix=prefix)
    await feed.start()
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(settings))
        second = await stack.enter_async_context(running(settings))
        urls = [await stack.enter_async_context(serving(app.app)) for app in (first, second)]
        account = await make_account(first, "both@example.com")
        code = app_state(first.app).market_snapshot.table.codes[0]
        clients = []
        for url in urls:
            ws = await stack.enter_async_context(connect(f"{url}/ws/stocks?token={account.access_token}"))
            await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
            await receive_type(ws, "price_update")  # the snapshot
            clients.append(ws)
        sent = []
        for n in range(20):
            sent.append(await feed.publish(f"price:{code}", orjson.dumps({"current_price": 10_000 + 10 * n})))
            for ws in clients:
                update = await receive_type(ws, "price_update")
                assert (update["sequence"], update["data"]["current_price"]) == (sent[-1], 10_000 + 10 * n)
        assert sent == list(range(1, 21))
    await feed.close()
