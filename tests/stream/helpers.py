"""Helpers of the stream tests: the app behind a real uvicorn server with accounts of each tier, and WebSocket
reads with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kstock.config import Settings
from kstock.identity.principal import Tier
from tests.support.accounts import Account, make_account
from tests.support.app import Live, app_state, broker_of, running, serving


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
        sequence: int = await broker_of(self.app).publish(channel, payload, retain=True)
        return sequence


@asynccontextmanager
async def stream_app(settings: Settings) -> AsyncIterator[Stream]:
    async with running(settings) as live, serving(live.app) as url:
        accounts = [
            await make_account(live, f"{name}@example.com", tier=tier)
            for name, tier in (("free", Tier.FREE), ("basic", Tier.BASIC), ("pro", Tier.PRO), ("other", Tier.FREE))
        ]
        yield Stream(live, url, *accounts)


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
    snapshot = app_state(stream.app).market_snapshot
    if market:
        codes: list[str] = snapshot.members("market", market)
        return codes
    return list(snapshot.table.codes)
