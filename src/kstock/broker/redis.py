"""The Redis broker: pub/sub between N API instances and one feed process, supervised against Redis outages.

Wire format (``{prefix}`` is the deployment prefix, ``kstock:`` by default):

* channel ``{prefix}ch:{channel}``, e.g. ``kstock:ch:price:005930``;
* body ``b"<epoch>:<sequence>|" + data``, e.g. ``b"4503599627370497:42|{...}"``: decimal ASCII, then the payload
  bytes untouched (it is never re-encoded, and a ``|`` inside it is harmless: the first one ends the header);
* retained last value: the same body at ``{prefix}last:{channel}``, written with a TTL (1 day by default) in the
  same pipeline as, and before, the ``PUBLISH`` -- a subscriber that reads it after subscribing may see the newest
  message twice (same epoch and sequence) but never misses it.

Supervision: one reader task per broker owns a dedicated pub/sub connection. It reads replies in a tight loop
(``Connection.read_response``: one await per message, no per-message timer) and calls the handler synchronously
for each message of a subscribed channel. On any connection error it marks the broker disconnected, logs the
outage once, and reconnects with capped exponential backoff (0.1 s doubling to 2 s); once connected it
resubscribes every channel of ``subscriptions`` and, when Redis has confirmed them, logs the recovery and marks
the broker connected again. A connection that goes silent (a hung Redis, a dead peer without a reset) is found by
a keepalive: after ``ping_interval_s`` without any reply a ``PING`` is sent, and no reply by the next interval
ends the connection. Messages published while a subscriber was disconnected are lost (Redis pub/sub keeps
nothing); subscribers see it as a sequence gap and take a fresh snapshot.

Publishing uses a separate pooled client: one immediate retry on a broken connection (a pooled connection dies
with a Redis restart), short timeouts, and :class:`~kstock.broker.BrokerUnavailableError` when Redis does
not take the message.

The subscription connection speaks RESP2 unless the URL sets ``protocol``: with RESP3, redis-py hands every
pub/sub push to a handler that formats it for a debug log, which cost a quarter of the subscriber's throughput
(over half with hiredis). hiredis, when installed, takes the subscriber from about 13 to about 3 us of CPU per
message (``bench/bench_broker.py``); redis-py picks it up by itself and everything here works without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Final, cast

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from kstock.broker.base import Broker, BrokerUnavailableError, Message

log = structlog.get_logger("kstock.broker")

SUBSCRIBE_CHUNK: Final = 1000  # channels per SUBSCRIBE / UNSUBSCRIBE command
_CONNECTION_ERRORS: Final = (RedisError, OSError, TimeoutError)


class _Awaiting:
    """One SUBSCRIBE / UNSUBSCRIBE sent on the current connection: Redis confirms each of its channels in order."""

    __slots__ = ("done", "remaining")

    def __init__(self, remaining: int, done: asyncio.Future[None] | None) -> None:
        self.remaining = remaining
        self.done = done


class RedisBroker(Broker):
    """Redis pub/sub behind :class:`~kstock.broker.Broker`."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "kstock:",
        retain_ttl_s: int = 86_400,
        command_timeout_s: float = 2.0,
        connect_timeout_s: float = 2.0,
        ping_interval_s: float = 5.0,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 2.0,
    ) -> None:
        super().__init__(prefix=prefix)
        self.retain_ttl_s = retain_ttl_s
        self.command_timeout_s = command_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.ping_interval_s = ping_interval_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.messages_malformed = 0
        self._channel_prefix = f"{prefix}ch:"
        self._channel_prefix_bytes = self._channel_prefix.encode()
        self._retained_prefix = f"{prefix}last:"
        self._epoch_head = b"%d:" % self.epoch
        # Publishing and retained reads: pooled, one immediate retry on a broken connection. The time limit is one
        # asyncio timeout per call, not redis-py's socket timeout: that one arms a timer for every reply of a
        # pipeline, which halved the rate of publish_many.
        self._client = Redis.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=connect_timeout_s,
            retry=Retry(NoBackoff(), 1),
            decode_responses=False,
        )
        # The subscription: no retry of its own (the reader reconnects), no read timeout (the keepalive watches).
        self._sub_client = Redis.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=connect_timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            decode_responses=False,
            protocol=2,
        )
        self._connection: Connection | None = None  # the live pub/sub connection, None while down
        self._awaiting: deque[_Awaiting] = deque()
        self._send_lock = asyncio.Lock()
        self._names: dict[bytes, str] = {}  # Redis channel -> channel, for the channels seen
        self._activity = 0  # replies read on the pub/sub connection, for the keepalive
        self._connected = False
        self._closed = False
        self._outage_since: float | None = None
        self._sessions_live = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reader and wait for its first connection attempt. Does not raise when Redis is down: the
        reader keeps trying (``connected`` stays False), and publishing raises until Redis answers."""
        if self._closed:
            raise BrokerUnavailableError("The broker is closed")
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="kstock-broker-reader")
        await self._first_attempt.wait()

    async def close(self) -> None:
        self._closed = True
        self._first_attempt.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._connected = False
        await self._client.aclose()
        await self._sub_client.aclose()

    @property
    def connected(self) -> bool:
        return self._connected

    # -- publishing --------------------------------------------------------------------------------------------

    def _body(self, sequence: int, data: bytes) -> bytes:
        return b"%b%d|%b" % (self._epoch_head, sequence, data)

    async def publish(self, channel: str, data: bytes, *, retain: bool = False) -> int:
        self._check_open()
        sequence = self._next_sequence(channel)
        body = self._body(sequence, data)
        try:
            async with asyncio.timeout(self.command_timeout_s):
                if retain:
                    async with self._client.pipeline(transaction=False) as pipe:
                        pipe.set(self._retained_prefix + channel, body, ex=self.retain_ttl_s)
                        pipe.publish(self._channel_prefix + channel, body)
                        await pipe.execute()
                else:
                    await self._client.publish(self._channel_prefix + channel, body)
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        self.messages_published += 1
        return sequence

    async def publish_many(self, items: Sequence[tuple[str, bytes]], *, retain: bool = False) -> list[int]:
        self._check_open()
        if not items:
            return []
        sequences: list[int] = []
        channel_prefix, retained_prefix, ttl = self._channel_prefix, self._retained_prefix, self.retain_ttl_s
        try:
            async with asyncio.timeout(self.command_timeout_s), self._client.pipeline(transaction=False) as pipe:
                for channel, data in items:
                    sequence = self._next_sequence(channel)
                    sequences.append(sequence)
                    body = self._body(sequence, data)
                    if retain:
                        pipe.set(retained_prefix + channel, body, ex=ttl)
                    pipe.publish(channel_prefix + channel, body)
                await pipe.execute()
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        self.messages_published += len(sequences)
        return sequences

    async def latest(self, channel: str) -> Message | None:
        self._check_open()
        try:
            async with asyncio.timeout(self.command_timeout_s):
                body = await self._client.get(self._retained_prefix + channel)
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        if body is None:
            return None
        return self._decode(channel, body.encode() if isinstance(body, str) else body)

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerUnavailableError("The broker is closed")

    @staticmethod
    def _unavailable(exc: BaseException) -> BrokerUnavailableError:
        return BrokerUnavailableError(
            "Redis is unavailable for the message broker", {"cause": type(exc).__name__, "error": str(exc)}
        )

    def _decode(self, channel: str, body: bytes) -> Message | None:
        head, _, data = body.partition(b"|")
        epoch, _, sequence = head.partition(b":")
        try:
            return Message(channel, int(sequence), data, int(epoch))
        except ValueError:
            self.messages_malformed += 1
            return None

    # -- subscribing -------------------------------------------------------------------------------------------

    async def subscribe(self, *channels: str) -> None:
        desired = self._desired
        new = [channel for channel in dict.fromkeys(channels) if channel not in desired]
        if not new:
            return
        desired.update(new)
        async with self._send_lock:
            confirmed = await self._send("SUBSCRIBE", new, wait=True)
        if confirmed is not None:
            await asyncio.wait({confirmed}, timeout=self.command_timeout_s)

    async def unsubscribe(self, *channels: str) -> None:
        desired = self._desired
        gone = [channel for channel in dict.fromkeys(channels) if channel in desired]
        if not gone:
            return
        desired.difference_update(gone)  # from here on the reader drops their messages
        async with self._send_lock:
            await self._send("UNSUBSCRIBE", gone, wait=False)

    async def _send(self, command: str, channels: Sequence[str], *, wait: bool) -> asyncio.Future[None] | None:
        """Send ``command`` for ``channels`` on the live connection (under ``_send_lock``); the future resolves
        when Redis has confirmed the last channel. Nothing is sent while disconnected: the reader subscribes
        ``subscriptions`` on reconnection. A failed send is left to the reader, whose connection fails too."""
        connection = self._connection
        if connection is None or not connection.is_connected:
            return None
        loop = asyncio.get_running_loop()
        last: asyncio.Future[None] | None = None
        prefix = self._channel_prefix
        try:
            async with asyncio.timeout(self.command_timeout_s):  # a write blocked on a hung Redis gives up
                for start in range(0, len(channels), SUBSCRIBE_CHUNK):
                    chunk = channels[start : start + SUBSCRIBE_CHUNK]
                    last = loop.create_future() if wait else None
                    self._awaiting.append(_Awaiting(len(chunk), last))
                    await connection.send_command(command, *[prefix + c for c in chunk], check_health=False)
        except _CONNECTION_ERRORS as exc:
            log.debug("broker_send_failed", command=command, error=str(exc))
            return None
        return last

    def _confirmed(self) -> None:
        """Redis confirmed one channel of the oldest SUBSCRIBE / UNSUBSCRIBE still waiting."""
        if not self._awaiting:
            return
        head = self._awaiting[0]
        head.remaining -= 1
        if head.remaining <= 0:
            self._awaiting.popleft()
            if head.done is not None and not head.done.done():
                head.done.set_result(None)

    # -- the reader --------------------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Connect, read until the connection fails, back off, again -- until the broker is closed."""
        delay = self.backoff_min_s
        while True:
            live_before = self._sessions_live
            try:
                await self._session()
            except _CONNECTION_ERRORS as exc:
                failure: BaseException = exc
            except Exception as exc:  # a bug must not end the subscription for good: log it, reconnect
                log.exception("broker_reader_failed")
                failure = exc
            else:  # pragma: no cover - a session only ends by an error
                failure = RedisConnectionError("pub/sub reader stopped")
            if self._sessions_live != live_before:
                delay = self.backoff_min_s  # the connection had worked: start the backoff again
            self._lost(failure)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max_s)

    async def _session(self) -> None:
        """One connection: connect, resubscribe, read. Returns only by raising."""
        pubsub: PubSub = self._sub_client.pubsub()
        reader: asyncio.Task[None] | None = None
        keepalive: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await pubsub.connect()  # type: ignore[no-untyped-call]
            connection = cast("Connection | None", pubsub.connection)
            if connection is None:  # pragma: no cover - connect() sets it or raises
                raise RedisConnectionError("pub/sub connection not established")
            self._names.clear()
            self._awaiting.clear()
            reader = asyncio.create_task(self._read(connection), name="kstock-broker-read")
            async with self._send_lock:
                self._connection = connection
                channels = sorted(self._desired)
                ready = await self._send("SUBSCRIBE", channels, wait=True)
            if ready is not None:
                await asyncio.wait({ready, reader}, timeout=self.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED)
                if not ready.done() and not reader.done():
                    raise TimeoutError(f"Redis did not confirm {len(channels)} subscriptions")
            if reader.done():
                reader.result()  # raises the reader's error
            if channels and ready is None:
                raise RedisConnectionError("pub/sub connection lost while resubscribing")
            self._went_live(len(channels))
            keepalive = asyncio.create_task(self._keepalive(connection), name="kstock-broker-keepalive")
            done, _ = await asyncio.wait({reader, keepalive}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise RedisConnectionError("pub/sub reader stopped")  # pragma: no cover
        finally:
            self._connection = None
            self._connected = False
            tasks: tuple[asyncio.Task[None] | None, ...] = (reader, keepalive)
            for pending in tasks:
                if pending is None:
                    continue
                if not pending.done():
                    pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending  # also marks a failure as retrieved
            for waiting in self._awaiting:  # subscribers waiting for a confirmation go on: resubscribed later
                if waiting.done is not None and not waiting.done.done():
                    waiting.done.set_result(None)
            self._awaiting.clear()
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _went_live(self, channels: int) -> None:
        self._connected = True
        self._sessions_live += 1
        self._first_attempt.set()
        if self._outage_since is not None:
            self.reconnects += 1
            log.info(
                "broker_reconnected",
                outage_s=round(time.monotonic() - self._outage_since, 3),
                resubscribed=channels,
            )
            self._outage_since = None

    def _lost(self, exc: BaseException) -> None:
        self._connected = False
        self._first_attempt.set()
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning(
                "broker_disconnected",
                error=str(exc) or type(exc).__name__,
                error_type=type(exc).__name__,
                subscriptions=len(self._desired),
                retry_max_interval_s=self.backoff_max_s,
            )

    async def _keepalive(self, connection: Connection) -> None:
        """Raise when the connection has been silent for two intervals, the second after a PING."""
        seen = self._activity
        pinged = False
        while True:
            await asyncio.sleep(self.ping_interval_s)
            if self._activity != seen:
                seen, pinged = self._activity, False
                continue
            if pinged:
                raise TimeoutError(f"No reply from Redis for {2 * self.ping_interval_s:g} s")
            async with asyncio.timeout(self.ping_interval_s):  # no lock: a PING is written whole, as every command
                await connection.send_command("PING", check_health=False)
            pinged = True

    async def _read(self, connection: Connection) -> None:
        """The hot loop: one reply per await, decoded and handed to the handler without leaving the task."""
        read = connection.read_response
        names = self._names
        desired = self._desired
        while True:
            response: Any = await read(push_request=True)
            self._activity += 1
            if not isinstance(response, list):  # hiredis gives RESP3 pushes as a list subclass
                continue  # PONG
            kind = response[0]
            if kind == b"message":
                channel = names.get(response[1])
                if channel is None:
                    channel = self._name_of(response[1])
                    if channel is None:
                        continue
                if channel not in desired:
                    continue  # unsubscribed; Redis may still have sent a few
                head, _, data = response[2].partition(b"|")
                epoch, _, sequence = head.partition(b":")
                try:
                    message = Message(channel, int(sequence), data, int(epoch))
                except ValueError:
                    self.messages_malformed += 1
                    continue
                self.messages_received += 1
                handler = self._handler
                if handler is not None:
                    try:
                        handler(message)
                    except Exception:
                        self._handler_failed(message)
            elif kind == b"subscribe" or kind == b"unsubscribe":
                self._confirmed()

    def _name_of(self, raw: bytes) -> str | None:
        prefix = self._channel_prefix_bytes
        if not raw.startswith(prefix):
            return None
        name = raw[len(prefix) :].decode()
        self._names[raw] = name
        return name
