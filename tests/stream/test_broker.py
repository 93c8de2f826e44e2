"""The broker on both backends: ordered, gap-free delivery, subscriptions, retained last values, batches, several
API instances on one Redis, and Redis restarting or hanging under a live subscription.

Every Redis test works under a prefix of its own, so parallel runs never see each other's channels; the outage
tests run a redis-server of their own on a free port.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from kstock.broker import Broker, BrokerUnavailableError, Message, create_broker
from kstock.broker import redis as redis_broker
from kstock.broker.memory import MemoryBroker
from kstock.broker.redis import RedisBroker
from tests.support.app import free_port
from tests.support.databases import REDIS_URL
from tests.support.logs import LogRecorder
from tests.support.redis import RedisServer

WAIT_S = 5.0


def unique_prefix() -> str:
    return f"kstock-test-{uuid.uuid4().hex[:8]}:"


async def eventually(predicate: Callable[[], bool], timeout_s: float = WAIT_S, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)


class Collector:
    """A handler that keeps what it is given."""

    def __init__(self, broker: Broker | None = None) -> None:
        self.messages: list[Message] = []
        if broker is not None:
            broker.set_handler(self)

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    async def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Message]:
        await eventually(lambda: len(self.messages) >= count, timeout_s, f"{count} messages")
        return self.messages

    def on(self, channel: str) -> list[Message]:
        return [message for message in self.messages if message.channel == channel]


class Brokers:
    """Makes brokers of one backend under one prefix, and closes them at the end of the test."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.prefix = unique_prefix()
        self.made: list[Broker] = []

    async def new(self, **options: Any) -> Broker:
        if self.backend == "memory":
            broker: Broker = MemoryBroker(prefix=self.prefix)
        else:
            broker = RedisBroker(REDIS_URL, prefix=self.prefix, **options)
        self.made.append(broker)
        await broker.start()
        return broker

    async def publisher_and_subscriber(self) -> tuple[Broker, Broker]:
        """In memory one broker is both (as under ``serve --demo``); on Redis they are two processes' brokers."""
        subscriber = await self.new()
        return (subscriber if self.backend == "memory" else await self.new()), subscriber

    async def close(self) -> None:
        for broker in self.made:
            await broker.close()
        if self.backend == "redis":  # the retained values, so the shared Redis keeps nothing of the test
            raw = Redis.from_url(REDIS_URL)
            try:
                keys = [key async for key in raw.scan_iter(match=f"{self.prefix}*")]
                if keys:
                    await raw.delete(*keys)
            finally:
                await raw.aclose()


@pytest.fixture(params=["memory", "redis"])
async def brokers(request: pytest.FixtureRequest) -> AsyncIterator[Brokers]:
    made = Brokers(request.param)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def redis_brokers() -> AsyncIterator[Brokers]:
    made = Brokers("redis")
    try:
        yield made
    finally:
        await made.close()


# -- both backends ---------------------------------------------------------------------------------------------


async def test_delivers_in_order_with_gap_free_sequences(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    received = Collector(subscriber)
    await subscriber.subscribe("price:005930", "price:000660")
    assert subscriber.connected
    assert subscriber.subscriptions == frozenset({"price:005930", "price:000660"})

    sent = []
    for i in range(50):
        channel = "price:005930" if i % 3 else "price:000660"
        data = b'{"price":%d}' % (70_000 + i)
        sequence = await publisher.publish(channel, data)
        sent.append((channel, sequence, data))
    await received.wait_for(50)

    assert [(m.channel, m.sequence, m.data) for m in received.messages] == sent
    for channel in ("price:005930", "price:000660"):
        sequences = [m.sequence for m in received.on(channel)]
        assert sequences == list(range(1, len(sequences) + 1))
    assert {m.epoch for m in received.messages} == {publisher.epoch}
    assert 0 < publisher.epoch < 2**53
    assert subscriber.messages_received == 50
    assert publisher.messages_published == 50


async def test_unsubscribe_stops_delivery(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    received = Collector(subscriber)
    await subscriber.subscribe("price:A", "price:B")
    await publisher.publish("price:A", b"1")
    await received.wait_for(1)

    await subscriber.unsubscribe("price:A")
    assert subscriber.subscriptions == frozenset({"price:B"})
    await publisher.publish("price:A", b"2")
    await publisher.publish("price:B", b"marker")  # published after, so delivered after anything of A's
    await received.wait_for(2)
    await asyncio.sleep(0.05)

    assert [(m.channel, m.data) for m in received.messages] == [("price:A", b"1"), ("price:B", b"marker")]
    await subscriber.unsubscribe("price:A", "price:never-subscribed")  # no error, nothing changes
    assert subscriber.subscriptions == frozenset({"price:B"})


async def test_subscribe_is_idempotent(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    received = Collector(subscriber)
    await subscriber.subscribe("orderbook:005930", "orderbook:005930")
    await subscriber.subscribe("orderbook:005930")
    await subscriber.subscribe()
    assert subscriber.subscriptions == frozenset({"orderbook:005930"})

    for i in range(3):
        await publisher.publish("orderbook:005930", b"%d" % i)
    await publisher.publish("orderbook:005930", b"last")
    await received.wait_for(4)
    await asyncio.sleep(0.05)
    assert [m.sequence for m in received.messages] == [1, 2, 3, 4]  # once each, not once per subscribe call

    await subscriber.unsubscribe("orderbook:005930")  # one unsubscribe undoes them all
    await publisher.publish("orderbook:005930", b"after")
    await asyncio.sleep(0.05)
    assert len(received.messages) == 4


async def test_latest_returns_the_last_retained_message(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    assert await subscriber.latest("price:005930") is None
    await publisher.publish("price:005930", b"not kept")
    assert await subscriber.latest("price:005930") is None

    first = await publisher.publish("price:005930", b'{"price":1}', retain=True)
    assert await subscriber.latest("price:005930") == Message("price:005930", first, b'{"price":1}', publisher.epoch)
    await publisher.publish("price:005930", b"newer but not kept")
    assert (await subscriber.latest("price:005930")) == Message("price:005930", 2, b'{"price":1}', publisher.epoch)

    sequences = await publisher.publish_many(
        [("price:005930", b"a|b"), ("price:000660", b"x"), ("price:005930", b"c|d")], retain=True
    )
    assert sequences == [4, 1, 5]
    assert await subscriber.latest("price:005930") == Message("price:005930", 5, b"c|d", publisher.epoch)
    assert await subscriber.latest("price:000660") == Message("price:000660", 1, b"x", publisher.epoch)
    assert await subscriber.latest("price:999999") is None


async def test_publish_many_keeps_order_and_sequences(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    received = Collector(subscriber)
    channels = [f"price:{code:06d}" for code in range(7)]
    await subscriber.subscribe(*channels)

    await publisher.publish(channels[0], b"single")
    items = [(channels[i % 7], b'{"i":%d}' % i) for i in range(500)]
    sequences = await publisher.publish_many(items)
    assert await publisher.publish_many([]) == []
    await received.wait_for(501)

    expected_sequences = [i // 7 + 1 + (1 if i % 7 == 0 else 0) for i in range(500)]
    assert sequences == expected_sequences
    batch = received.messages[1:]
    assert [(m.channel, m.data) for m in batch] == items
    assert [m.sequence for m in batch] == expected_sequences
    assert publisher.messages_published == 501


async def test_handler_exception_does_not_stop_delivery(brokers: Brokers) -> None:
    publisher, subscriber = await brokers.publisher_and_subscriber()
    seen: list[int] = []

    def fragile(message: Message) -> None:
        seen.append(message.sequence)
        if message.sequence % 2 == 0:
            raise RuntimeError("bad payload")

    subscriber.set_handler(fragile)
    await subscriber.subscribe("account:42")
    for i in range(5):
        await publisher.publish("account:42", b"%d" % i)
    await eventually(lambda: len(seen) == 5, what="5 messages")
    assert seen == [1, 2, 3, 4, 5]
    assert subscriber.handler_errors == 2
    assert subscriber.connected


async def test_publish_after_close_raises(brokers: Brokers) -> None:
    broker = await brokers.new()
    await broker.close()
    assert not broker.connected
    with pytest.raises(BrokerUnavailableError) as raised:
        await broker.publish("price:005930", b"x")
    assert raised.value.status == 503
    with pytest.raises(BrokerUnavailableError):
        await broker.publish_many([("price:005930", b"x")])


# -- in memory only ----------------------------------------------------------------------------------------------


async def test_memory_delivers_on_a_later_loop_turn_without_copying() -> None:
    broker = MemoryBroker()
    await broker.start()
    order: list[str] = []
    payload = b'{"price":71200}'
    received: list[Message] = []

    def handler(message: Message) -> None:
        received.append(message)
        order.append(f"handled {message.sequence}")

    broker.set_handler(handler)
    await broker.subscribe("price:005930")
    await broker.publish("price:005930", payload)
    order.append("published")
    await broker.publish("price:other", b"nobody listens")
    await eventually(lambda: len(received) == 1)
    assert order == ["published", "handled 1"]  # publish never runs the handler itself
    assert received[0].data is payload
    await broker.close()


async def test_memory_drops_queued_messages_of_a_channel_unsubscribed_before_delivery() -> None:
    broker = MemoryBroker()
    await broker.start()
    received = Collector(broker)
    await broker.subscribe("price:A")
    await broker.publish_many([("price:A", b"1"), ("price:A", b"2")])
    await broker.unsubscribe("price:A")
    await asyncio.sleep(0.01)
    assert received.messages == []
    await broker.close()


async def test_create_broker_picks_the_backend_by_url() -> None:
    assert isinstance(create_broker(None), MemoryBroker)
    assert isinstance(create_broker("memory://"), MemoryBroker)
    redis = create_broker("redis://127.0.0.1:6379/0", prefix="kstock-x:")
    assert isinstance(redis, RedisBroker)
    assert redis.prefix == "kstock-x:"
    assert not redis.connected  # nothing connects before start()
    await redis.close()
    with pytest.raises(ValueError, match="kafka"):
        create_broker("kafka://broker:9092")


# -- Redis only --------------------------------------------------------------------------------------------------


async def test_two_api_instances_receive_the_same_messages(redis_brokers: Brokers) -> None:
    feed = await redis_brokers.new()
    api_a, api_b = await redis_brokers.new(), await redis_brokers.new()
    got_a, got_b = Collector(api_a), Collector(api_b)
    await api_a.subscribe("price:005930", "price:000660")
    await api_b.subscribe("price:005930")

    await feed.publish_many([("price:005930", b"%d" % i) for i in range(100)] + [("price:000660", b"x")])
    await got_a.wait_for(101)
    await got_b.wait_for(100)
    await asyncio.sleep(0.05)

    expected = [("price:005930", i + 1, b"%d" % i, feed.epoch) for i in range(100)]
    assert [tuple(m) for m in got_a.on("price:005930")] == expected
    assert [tuple(m) for m in got_b.messages] == expected  # b never asked for price:000660
    assert got_a.on("price:000660") == [Message("price:000660", 1, b"x", feed.epoch)]


async def test_a_resp3_subscription_works_too(redis_brokers: Brokers) -> None:
    """The subscription speaks RESP2 unless the URL asks for RESP3; both deliver (and hiredis's RESP3 pushes are a
    list subclass, not a list)."""
    publisher = await redis_brokers.new()
    subscriber = RedisBroker(f"{REDIS_URL}?protocol=3", prefix=redis_brokers.prefix, ping_interval_s=0.05)
    redis_brokers.made.append(subscriber)
    await subscriber.start()
    received = Collector(subscriber)
    await subscriber.subscribe("price:005930")
    await asyncio.sleep(0.2)  # idle: the keepalive pings, and PONG is not a message
    await publisher.publish_many([("price:005930", b"1"), ("price:005930", b"2")])
    await received.wait_for(2)
    assert [(m.sequence, m.data) for m in received.messages] == [(1, b"1"), (2, b"2")]
    assert subscriber.connected
    assert subscriber.reconnects == 0


async def test_wire_format(redis_brokers: Brokers) -> None:
    broker = await redis_brokers.new()
    prefix = redis_brokers.prefix
    raw = Redis.from_url(REDIS_URL)
    pubsub = raw.pubsub()
    try:
        await pubsub.subscribe(f"{prefix}ch:price:005930")
        await broker.publish("price:005930", b'{"a":"x|y"}', retain=True)
        message = None
        deadline = time.monotonic() + WAIT_S
        while message is None and time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        assert message is not None
        assert message["channel"] == f"{prefix}ch:price:005930".encode()
        assert message["data"] == b'%d:1|{"a":"x|y"}' % broker.epoch
        assert await raw.get(f"{prefix}last:price:005930") == message["data"]
        assert 0 < await raw.ttl(f"{prefix}last:price:005930") <= 86_400
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await raw.delete(f"{prefix}last:price:005930")
        await raw.aclose()


async def test_malformed_bodies_are_counted_and_skipped(redis_brokers: Brokers) -> None:
    broker = await redis_brokers.new()
    received = Collector(broker)
    assert isinstance(broker, RedisBroker)
    await broker.subscribe("price:005930")
    raw = Redis.from_url(REDIS_URL)
    try:
        await raw.publish(f"{redis_brokers.prefix}ch:price:005930", b"no header")
        await raw.publish(f"{redis_brokers.prefix}ch:price:005930", b"x:y|z")
    finally:
        await raw.aclose()
    await broker.publish("price:005930", b"good")
    await received.wait_for(1)
    assert [m.data for m in received.messages] == [b"good"]
    assert broker.messages_malformed == 2


# -- Redis outages -----------------------------------------------------------------------------------------------


async def within(seconds: float, awaitable: Awaitable[None]) -> None:
    async with asyncio.timeout(seconds):
        await awaitable


async def test_redis_restart_mid_stream_resumes_delivery(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = LogRecorder()
    monkeypatch.setattr(redis_broker, "log", recorder)
    started = time.monotonic()
    prefix = unique_prefix()
    feed = RedisBroker(own_redis.url, prefix=prefix)
    api = RedisBroker(own_redis.url, prefix=prefix)
    try:
        await feed.start()
        await api.start()
        received = Collector(api)
        await api.subscribe("price:005930", "price:000660")
        for i in range(5):
            await feed.publish("price:005930", b"before %d" % i)
        await received.wait_for(5)
        assert [m.sequence for m in received.messages] == [1, 2, 3, 4, 5]

        await own_redis.stop()
        await eventually(lambda: not api.connected, what="the subscriber to notice the outage")
        with pytest.raises(BrokerUnavailableError):
            await feed.publish("price:005930", b"lost")
        with pytest.raises(BrokerUnavailableError):
            await feed.publish_many([("price:005930", b"lost")])
        with pytest.raises(BrokerUnavailableError):
            await api.latest("price:005930")
        # While down, subscription changes only update the wanted set; they are applied on reconnection.
        await within(1.0, api.subscribe("account:7"))
        await within(1.0, api.unsubscribe("price:000660"))
        assert api.subscriptions == frozenset({"price:005930", "account:7"})

        await own_redis.start()
        await eventually(lambda: api.connected, what="the subscriber to reconnect")
        assert api.reconnects == 1
        await feed.publish_many([("price:005930", b"after"), ("price:000660", b"dropped"), ("account:7", b"new")])
        await received.wait_for(7)
        await asyncio.sleep(0.05)

        after = [(m.channel, m.sequence, m.data) for m in received.messages[5:]]
        # The two failed publishes used up sequences 6 and 7: subscribers see the gap the outage made.
        assert after == [("price:005930", 8, b"after"), ("account:7", 1, b"new")]
        # Once per outage and broker (the feed's broker has a reader too), however many retries it took.
        assert recorder.lines().count(("warning", "broker_disconnected")) == 2
        assert recorder.lines().count(("info", "broker_reconnected")) == 2
    finally:
        await feed.close()
        await api.close()
    assert time.monotonic() - started < 10


async def test_publish_while_redis_is_down_raises() -> None:
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", prefix=unique_prefix(), connect_timeout_s=0.5)
    try:
        await within(2.0, broker.start())  # does not raise: the reader keeps trying
        assert not broker.connected
        with pytest.raises(BrokerUnavailableError) as raised:
            await broker.publish("price:005930", b"x", retain=True)
        assert raised.value.status == 503
        assert raised.value.error_code == "BROKER_UNAVAILABLE"
        await within(1.0, broker.subscribe("price:005930"))
        assert broker.subscriptions == frozenset({"price:005930"})
    finally:
        await broker.close()


async def test_a_silent_redis_is_detected_by_the_keepalive(own_redis: RedisServer) -> None:
    prefix = unique_prefix()
    feed = RedisBroker(own_redis.url, prefix=prefix)
    api = RedisBroker(own_redis.url, prefix=prefix, ping_interval_s=0.2, connect_timeout_s=0.5)
    try:
        await feed.start()
        await api.start()
        received = Collector(api)
        await api.subscribe("price:005930")
        await feed.publish("price:005930", b"1")
        await received.wait_for(1)

        own_redis.pause()  # the TCP connection stays up, nothing answers
        paused = time.monotonic()
        await eventually(lambda: not api.connected, timeout_s=3.0, what="the keepalive to give up")
        assert time.monotonic() - paused < 1.5
        own_redis.resume()
        await eventually(lambda: api.connected, what="the subscriber to reconnect")
        await feed.publish("price:005930", b"2")
        await received.wait_for(2)
        assert [m.data for m in received.messages] == [b"1", b"2"]
    finally:
        await feed.close()
        await api.close()
