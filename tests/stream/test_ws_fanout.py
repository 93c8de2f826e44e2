"""Fan-out under stress: a stuck client is dropped with 1013 while a fast one keeps its rate; heartbeats; graceful
shutdown closes clients with 1012."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping

import orjson
import pytest

from tests.conftest import DatabaseFactory
from tests.stream.conftest import codes_of, quiet, receive_type, request, stream_app, stream_settings, until_closed

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


@pytest.mark.slow
async def test_a_stuck_client_is_dropped_and_never_slows_the_others(db_factory: DatabaseFactory) -> None:
    settings = await stream_settings(db_factory, "stream_slow", ws_slow_client_s=1.0, ws_batch_window_ms=20)
    async with stream_app(settings) as stream:
        codes = codes_of(stream)[:40]
        subscribe = {"type": "subscribe", "stock_codes": codes, "channels": ["orderbook"]}
        port = int(stream.url.rsplit(":", 1)[1])
        stuck = await asyncio.to_thread(stuck_client, port, stream.pro.access_token, subscribe)
        async with stream.connect(stream.basic) as fast:
            await request(fast, {**subscribe, "stock_codes": codes[:1]}, "subscribed")
            await quiet(fast, 0.2)
            broker = stream.app.state.broker
            hub = stream.app.state.hub
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
