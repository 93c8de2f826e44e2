"""Request heads over a real socket (the ASGI transport has no header phase): the size limit (431), the time
limit (408), and what every answer's head carries or leaves out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest_asyncio

from kstock.app import create_app
from tests.support.app import serving
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

MAX_HEADER_BYTES = 4_096
HEADER_TIMEOUT_S = 0.5


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def address(db_factory: DatabaseFactory) -> AsyncIterator[tuple[str, int]]:
    settings = await db_factory.settings(
        "gw_headers", snapshot_refresh_s=0, max_header_bytes=MAX_HEADER_BYTES, header_timeout_s=HEADER_TIMEOUT_S
    )
    await seed_market(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app), serving(app) as url:
        host, port = url.removeprefix("ws://").split(":")
        yield host, int(port)


async def exchange(address: tuple[str, int], *parts: bytes, pause_s: float = 0.0) -> bytes:
    """Send ``parts`` (pausing between them), then read until the server closes or 5 s pass."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        for part in parts:
            try:
                writer.write(part)
                await writer.drain()
            except ConnectionError:
                break
            if pause_s:
                await asyncio.sleep(pause_s)
        received = b""
        try:
            while chunk := await asyncio.wait_for(reader.read(65_536), 5):
                received += chunk
        except (ConnectionError, TimeoutError):
            pass
        return received
    finally:
        writer.close()


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


async def test_a_head_over_the_limit_is_refused_with_431_and_closed(address: tuple[str, int]) -> None:
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 10) + b"\r\n\r\n"
    status, headers, body = parse(await exchange(address, big))
    assert status == 431
    assert headers["connection"] == "close"
    error = orjson.loads(body)
    assert error["error"] == "REQUEST_HEADERS_TOO_LARGE"
    assert set(error) == {"error", "message", "details", "timestamp", "path", "request_id"}
    assert error["path"] == "/health"
    assert error["details"] == {"max_header_bytes": MAX_HEADER_BYTES}
    assert headers["x-request-id"] == error["request_id"]


async def test_an_endless_header_is_cut_off_near_the_limit(address: tuple[str, int]) -> None:
    # httptools keeps a header's pieces until its value ends: the server must not wait for the end.
    start = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
    pieces = [start] + [b"b" * 1_024] * 64  # 64 KiB of one header that never ends
    status, headers, _ = parse(await exchange(address, *pieces, pause_s=0.005))
    assert status == 431
    assert headers["connection"] == "close"


async def test_a_long_url_counts_toward_the_limit(address: tuple[str, int]) -> None:
    url = b"/v1/stocks?q=" + b"x" * MAX_HEADER_BYTES
    status, _, _ = parse(await exchange(address, b"GET " + url + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 431


async def test_a_head_just_under_the_limit_is_served(address: tuple[str, int]) -> None:
    padding = b"c" * (MAX_HEADER_BYTES - 200)
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + padding + b"\r\nConnection: close\r\n\r\n"
    status, _, _ = parse(await exchange(address, request))
    assert status == 200


async def test_a_slow_head_is_answered_408_and_closed(address: tuple[str, int]) -> None:
    started = time.monotonic()
    parts = [b"GET /health HTTP/1.1\r\n", b"Host: x\r\n", b"X-Slow: 1\r\n", b"X-Slow: 2\r\n", b"X-Slow: 3\r\n"]
    status, headers, body = parse(await exchange(address, *parts, pause_s=HEADER_TIMEOUT_S / 2))
    assert status == 408
    assert headers["connection"] == "close"
    assert orjson.loads(body)["error"] == "REQUEST_TIMEOUT"
    assert orjson.loads(body)["details"] == {"header_timeout_s": HEADER_TIMEOUT_S}
    assert time.monotonic() - started < 5 * HEADER_TIMEOUT_S


async def test_a_silent_connection_is_closed_without_an_answer(address: tuple[str, int]) -> None:
    started = time.monotonic()
    assert await exchange(address) == b""
    assert time.monotonic() - started < 5 * HEADER_TIMEOUT_S


async def test_a_keep_alive_connection_serves_many_requests_past_the_timeout(address: tuple[str, int]) -> None:
    # The timer covers each head, not the connection's life.
    reader, writer = await asyncio.open_connection(*address)
    try:
        for _ in range(3):
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            status, headers, _ = parse(head)
            assert status == 200
            await reader.readexactly(int(headers["content-length"]))
            await asyncio.sleep(HEADER_TIMEOUT_S * 0.8)
    finally:
        writer.close()


async def test_answers_carry_nosniff_and_no_server_banner(address: tuple[str, int]) -> None:
    for path in (b"/health", b"/v1/nothing-here", b"/v1/stocks?per_page=2"):
        response = await exchange(address, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _, headers, _ = parse(response)
        assert "server" not in headers, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert "date" in headers
    for refused in (b"GET /health HTTP/1.1\r\nX-Big: " + b"d" * MAX_HEADER_BYTES + b"\r\n\r\n", b"NOT HTTP\r\n\r\n"):
        _, headers, _ = parse(await exchange(address, refused))
        assert "server" not in headers


async def test_many_slow_heads_are_all_answered_and_closed(address: tuple[str, int]) -> None:
    # Slow-header clients hold nothing for long: each gets its 408 and its socket is closed.
    started = time.monotonic()
    answers = await asyncio.gather(
        *(exchange(address, b"GET /health HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", pause_s=0.05) for _ in range(100))
    )
    assert [parse(answer)[0] for answer in answers] == [408] * 100
    assert time.monotonic() - started < 4 * HEADER_TIMEOUT_S + 2
