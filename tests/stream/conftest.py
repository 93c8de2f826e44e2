"""Stream tests run the real app behind a real uvicorn server on a loopback port, with real WebSocket clients.

Each module gets its own database holding a small demo market (60 stocks: enough to pass the free tier's 20-code
limit) and accounts of each tier. On the PostgreSQL pass the broker is Redis, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kstock.cli.server import uvicorn_options
from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.identity.principal import Tier
from kstock.market.demo import generate_demo
from tests.conftest import DatabaseFactory
from tests.identity.conftest import Account, Live, make_account, running

STOCKS = 60


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan already running) on a free loopback port; yields the ``ws://`` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As `kstock serve` runs it (its HTTP protocol, the sans-I/O WebSocket protocol), minus the factory and lifespan.
    settings: Settings = app.state.settings
    options = {**uvicorn_options(settings), "factory": False, "lifespan": "off", "log_level": "warning"}
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@dataclass
class Stream:
    live: Live
    url: str
    free: Account
    basic: Account
    pro: Account
    other: Account

    @property
    def app(self) -> FastAPI:
        return self.live.app

    def connect(self, account: Account | None = None, token: str | None = None, **options: Any) -> Any:
        credential = token if token is not None else (account or self.free).access_token
        return connect(f"{self.url}/ws/stocks?token={credential}", **options)

    async def publish(self, channel: str, data: dict[str, Any] | bytes) -> int:
        payload = data if isinstance(data, bytes) else orjson.dumps(data)
        sequence: int = await self.app.state.broker.publish(channel, payload, retain=True)
        return sequence


async def stream_settings(db_factory: DatabaseFactory, name: str, **overrides: Any) -> Settings:
    settings = await db_factory.settings(name, **{"snapshot_refresh_s": 0, "ws_batch_window_ms": 50, **overrides})
    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        await generate_demo(engine, stocks=STOCKS, years=1, seed=11, replace=False, progress=None)
    finally:
        await engine.dispose()
    return settings


@asynccontextmanager
async def stream_app(settings: Settings) -> AsyncIterator[Stream]:
    async with running(settings) as live, serving(live.app) as url:
        accounts = [
            await make_account(live, f"{name}@example.com", tier=tier)
            for name, tier in (("free", Tier.FREE), ("basic", Tier.BASIC), ("pro", Tier.PRO), ("other", Tier.FREE))
        ]
        yield Stream(live, url, *accounts)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stream(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    name = "stream_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    async with stream_app(await stream_settings(db_factory, name)) as running_stream:
        yield running_stream


async def receive(ws: ClientConnection, wait_s: float = 3.0) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return message


async def receive_type(ws: ClientConnection, kind: str, wait_s: float = 3.0) -> dict[str, Any]:
    """The next message of type ``kind``, skipping others (snapshots, heartbeats)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        message = await receive(ws, max(0.01, deadline - loop.time()))
        if message["type"] == kind:
            return message


async def request(ws: ClientConnection, message: dict[str, Any], reply: str, wait_s: float = 3.0) -> dict[str, Any]:
    await ws.send(orjson.dumps(message).decode())
    return await receive_type(ws, reply, wait_s)


async def until_closed(ws: ClientConnection, wait_s: float = 5.0) -> int | None:
    """Read until the server closes the connection; its close code."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await receive(ws, wait_s)
    return ws.close_code


async def quiet(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Everything that arrives within ``seconds``."""
    received = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            received.append(await receive(ws, left))
        except TimeoutError:
            break
    return received


def codes_of(stream: Stream, market: str | None = None) -> list[str]:
    snapshot = stream.app.state.market_snapshot
    if market:
        codes: list[str] = snapshot.members("market", market)
        return codes
    return list(snapshot.table.codes)
