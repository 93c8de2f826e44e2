"""The server's HTTP protocol (a response's head written with its body) over a real socket: every kind of
response arrives whole and in order, pipelined requests included, and WebSocket upgrades still work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.support.app import Live, seeded, serving
from tests.support.databases import DatabaseFactory


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def base_url(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Live]]:
    async with seeded(db_factory, request, "gateway_") as live, serving(live.app) as url:
        yield url.replace("ws://", "http://"), live


async def test_answers_of_every_shape_arrive_whole(base_url: tuple[str, Live]) -> None:
    url, _ = base_url
    async with httpx.AsyncClient(base_url=url) as http:
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.headers["x-request-id"]
        head = await http.head("/health")
        assert head.status_code in (200, 405)
        assert head.content == b""
        missing = await http.get("/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"] == "NOT_FOUND"
        stocks = await http.get("/v1/stocks", params={"per_page": 100})
        assert stocks.status_code == 200
        assert stocks.json()["meta"]["total"] >= 1

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(1_100):
                yield b"x" * 1_024

        too_big = await http.post("/v1/screen", content=chunks(), headers={"content-type": "application/json"})
        assert too_big.status_code == 413
        docs = await http.get("/openapi.json")
        assert docs.status_code == 200
        assert len(docs.content) > 64 * 1024  # a body larger than the join limit goes out as a second buffer
        assert docs.json()["openapi"]


async def test_pipelined_requests_are_answered_in_order(base_url: tuple[str, Live]) -> None:
    url, _ = base_url
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n\r\n"
    writer.write(request % b"first-request-0001" + request % b"second-request-0002")
    await writer.drain()
    received = b""
    while received.count(b"HTTP/1.1 200") < 2 or not received.rstrip().endswith(b"}"):
        received += await asyncio.wait_for(reader.read(65_536), 5)
    writer.close()
    assert received.index(b"first-request-0001") < received.index(b"second-request-0002")
