"""Fan-out under stress: a stuck client is dropped with 1013 while a fast one keeps its rate; heartbeats; graceful
shutdown closes clients with 1012."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from tests.stream.helpers import Stream, codes_of, quiet, receive_type, request, stream_app, until_closed
from tests.support.app import broker_of, hub_of
from tests.support.databases import DatabaseFactory, stream_settings

BOOK = orjson.dumps(
    {
        "asks": [{"price": 75_100 + 100 * n, "volume": 1_000 + n, "total": 1_000 * (n + 1)} for n in range(10)],
        "bids": [{"price": 75_000 - 100 * n, "volume": 2_000 + n, "total": 2_000 * (n + 1)} for n in range(10)],
        "spread": 100,
        "spread_pct": 0.13,
        "timestamp": "2025-11-09T10:30:15.123Z",
        "padding": "x" * 2_000,
    }
)


def _masked_text(payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x81, 0x80 | 126)) + len(payload).to_bytes(2, "big") + mask + body


def stuck_client(port: int, token: str, subscribe: Mapping[str, object]) -> socket.socket:
    """A client that completes the handshake, subscribes, and then never reads again (a tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4_096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /ws/stocks?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    sock.sendall(_masked_text(orjson.dumps(subscribe)))
    return sock


@asynccontextmanager
async def stuck_and_fast(stream: Stream) -> AsyncIterator[tuple[list[str], socket.socket, ClientConnection]]:
    """40 stocks' order books; a pro client subscribed to all of them that never reads, and a basic client
    subscribed to the first that reads everything."""
    codes = codes_of(stream)[:40]
    subscribe = {"type": "subscribe", "stock_codes": codes, "channels": ["orderbook"]}
    port = int(stream.url.rsplit(":", 1)[1])
    stuck = await asyncio.to_thread(stuck_client, port, stream.pro.access_token, subscribe)
    async with stream.connect(stream.basic) as fast:
        await request(fast, {**subscribe, "stock_codes": codes[:1]}, "subscribed")
        await quiet(fast, 0.2)
        yield codes, stuck, fast


@pytest.mark.slow
async def test_a_stuck_client_is_dropped_and_never_slows_the_others(db_factory: DatabaseFactory) -> None:
    settings = await stream_settings(db_factory, "stream_slow", ws_slow_client_s=1.0, ws_batch_window_ms=20)
    async with stream_app(settings) as stream:
        async with stuck_and_fast(stream) as (codes, stuck, fast):
            broker = broker_of(stream.app)
            hub = hub_of(stream.app)
            fast_updates = 0
            loop = asyncio.get_running_loop()
            started = loop.time()
            while hub.slow_clients_dropped == 0 and loop.time() - started < 20:
                await broker.publish_many([(f"orderbook:{code}", BOOK) for code in codes])
                for message in await quiet(fast, 0.02):
                    fast_updates += message["type"] == "orderbook_update"
            elapsed = loop.time() - started
            assert hub.slow_clients_dropped == 1
            # The fast client got an update in (nearly) every window while the stuck one filled its buffers.
            assert fast_updates >= 0.5 * elapsed / 0.04
            # The stuck client, once it reads again, finds its buffered frames and then the close: 1013.
            received = await asyncio.to_thread(_read_to_close, stuck)
            assert received[-64:].endswith(b"\x03\xf5too slow: reconnect and resubscribe")  # close frame, 1013
            # The fast client is untouched.
            await broker.publish(f"orderbook:{codes[0]}", BOOK)
            assert (await receive_type(fast, "orderbook_update"))["stock_code"] == codes[0]


def server_frames(data: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """The text messages in a server's (unmasked) byte stream, and the bytes of an unfinished frame."""
    messages = []
    while len(data) >= 2:
        size, start = data[1] & 0x7F, 2
        if size == 126:
            size, start = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, start = int.from_bytes(data[2:10], "big"), 10
        if len(data) < start + size:
            break
        if data[0] & 0x0F == 0x1:
            messages.append(orjson.loads(data[start : start + size]))
        data = data[start + size :]
    return messages, data


async def test_a_full_socket_leaves_the_direct_path_and_returns_once_it_drains(db_factory: DatabaseFactory) -> None:
    """A connection whose socket fills is moved out of the rooms' direct part (its frames conflate in its buffer,
    in order), and back once it reads again; a fast client stays on the direct path throughout."""
    settings = await stream_settings(db_factory, "stream_flow", ws_slow_client_s=60.0, ws_batch_window_ms=20)
    async with stream_app(settings) as stream:
        async with stuck_and_fast(stream) as (codes, stuck, fast):
            hub = hub_of(stream.app)
            room = hub.rooms[f"orderbook:{codes[0]}"]
            slow = next(c for c in hub.connections if c.principal.user_id == stream.pro.id)
            quick = next(c for c in hub.connections if c.principal.user_id == stream.basic.id)
            assert slow.transport is not None
            assert slow in room
            assert slow.transport in room.direct
            broker = broker_of(stream.app)
            loop = asyncio.get_running_loop()
            started = loop.time()
            while not (slow in room.queued and slow.pending) and loop.time() - started < 20:
                await broker.publish_many([(f"orderbook:{code}", BOOK) for code in codes])
                await quiet(fast, 0.03)
            assert slow in room.queued
            assert slow.pending
            assert len(slow.pending) <= len(codes) + 1  # one per channel (plus a control reply at most)
            assert quick.transport in room.direct

            stop = threading.Event()
            reader = asyncio.create_task(asyncio.to_thread(_read_until, stuck, stop))
            started = loop.time()
            while (slow.pending or slow.transport not in room.direct) and loop.time() - started < 20:
                await broker.publish_many([(f"orderbook:{code}", BOOK) for code in codes[:2]])
                await asyncio.sleep(0.05)
            assert slow.transport in room.direct
            assert not slow.pending
            published = await stream.publish(f"orderbook:{codes[0]}", BOOK)
            await asyncio.sleep(0.3)
            stop.set()
            messages, _ = server_frames(await reader)
            stuck.close()
            updates = [m for m in messages if m["type"] == "orderbook_update" and m["stock_code"] == codes[0]]
            sequences = [m["sequence"] for m in updates]
            assert sequences == sorted(sequences)
            assert len(set(sequences)) == len(sequences)
            assert sequences[-1] == published  # and the newest state reached it on the direct path
            assert hub.slow_clients_dropped == 0


async def test_compressed_connections_get_the_same_updates_through_their_own_protocol(
    db_factory: DatabaseFactory,
) -> None:
    """With permessage-deflate on, a client that negotiates it is served through its connection's compressor
    (never the shared prepared bytes) next to one that does not, and both read the same update."""
    settings = await stream_settings(db_factory, "stream_deflate", ws_compression=True, ws_batch_window_ms=20)
    async with stream_app(settings) as stream:
        code = codes_of(stream)[0]
        hub = hub_of(stream.app)
        async with (
            stream.connect(stream.basic, compression="deflate") as deflated,
            stream.connect(stream.pro, compression=None) as plain,
        ):
            for ws in (deflated, plain):
                await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
                await quiet(ws, 0.1)
            assert deflated.protocol.extensions  # negotiated
            assert not plain.protocol.extensions
            room = hub.rooms[f"price:{code}"]
            by_user = {c.principal.user_id: c for c in room}
            assert by_user[stream.basic.id].transport is None  # compressing: not on the direct path
            assert by_user[stream.basic.id] in room.queued
            assert by_user[stream.pro.id].transport in room.direct
            for price in (70_000, 70_100):
                sequence = await stream.publish(f"price:{code}", {"current_price": price, "volume": 1})
                for ws in (deflated, plain):
                    update = await receive_type(ws, "price_update")
                    assert update["sequence"] == sequence
                    assert update["data"]["current_price"] == price


async def test_a_socket_closed_under_the_fan_out_loop_does_not_stop_it(db_factory: DatabaseFactory) -> None:
    """The race the loop guards against: a transport whose handle closed before its connection left the direct
    part. Under uvloop its write then raises (asyncio's ignores it); the loop goes on to the others, and the
    connection is moved out."""
    settings = await stream_settings(db_factory, "stream_closed", ws_batch_window_ms=20)
    async with stream_app(settings) as stream:
        code = codes_of(stream)[0]
        hub = hub_of(stream.app)
        async with stream.connect(stream.basic) as victim_ws, stream.connect(stream.pro) as other:
            for ws in (victim_ws, other):
                await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
                await quiet(ws, 0.1)
            room = hub.rooms[f"price:{code}"]
            victim = next(c for c in room if c.principal.user_id == stream.basic.id)
            # Closed, before the loss reaches the protocol; the transport as uvloop's is once its handle is gone.
            room.direct.pop(victim.transport)
            victim.transport.abort()
            transport = victim.transport = _ClosedHandle()
            room.direct = {transport: victim, **room.direct}  # first, so the others come after the failure
            sequence = await stream.publish(f"price:{code}", {"current_price": 71_000, "volume": 1})
            update = await receive_type(other, "price_update")
            assert update["sequence"] == sequence
            await asyncio.sleep(0.1)
            assert victim not in room  # the loss reached the hub: it left
            assert len(room) == 1


class _ClosedHandle:
    def write(self, data: bytes) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")


def _read_until(sock: socket.socket, stop: threading.Event) -> bytes:
    sock.settimeout(0.1)
    chunks = []
    while not stop.is_set():
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _read_to_close(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


async def test_heartbeats_and_graceful_shutdown(db_factory: DatabaseFactory) -> None:
    settings = await stream_settings(db_factory, "stream_shutdown", ws_heartbeat_s=0.2)
    async with stream_app(settings) as stream:
        client = await stream.connect().__aenter__()
        heartbeat = await receive_type(client, "heartbeat", wait_s=2)
        assert heartbeat["timestamp"].endswith("Z")
    # The server stopped (the context above ended): the client was told to reconnect elsewhere.
    assert await until_closed(client) == 1012
