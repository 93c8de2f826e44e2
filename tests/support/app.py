"""A running app: its lifespan, an HTTP client over ASGI, a real uvicorn server for WebSockets, and the one error
body every refusal has."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from bench.server import free_port
from fastapi import APIRouter, FastAPI
from sqlalchemy import ColumnElement, select, update

from kstock.app import create_app
from kstock.broker.base import Broker
from kstock.cli.server import uvicorn_options
from kstock.config import Settings
from kstock.db.base import Base
from kstock.gateway.models import AuditEvent
from kstock.runtime import AppState
from kstock.state import state_of_app
from kstock.stream.hub import Hub
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

__all__ = [
    "Live",
    "app_state",
    "broker_of",
    "hub_of",
    "stock_detail",
    "assert_error",
    "free_port",
    "http_client",
    "lifespan_client",
    "running",
    "seeded",
    "serving",
]


def app_state(app: FastAPI) -> AppState:
    """The application state of a running ``app`` (``kstock.runtime.AppState``)."""
    state: AppState = state_of_app(app)
    return state


def broker_of(app: FastAPI) -> Broker:
    """The broker of a running ``app`` (set once its stream has started)."""
    broker = app_state(app).broker
    assert broker is not None, "the app's stream has not started"
    return broker


def hub_of(app: FastAPI) -> Hub:
    """The hub of a running ``app`` (set once its stream has started)."""
    hub = app_state(app).hub
    assert hub is not None, "the app's stream has not started"
    return hub


def stock_detail(app: FastAPI, code: str) -> dict[str, Any]:
    """One stock's detail in the running ``app``'s market snapshot."""
    detail = app_state(app).market_snapshot.get(code)
    assert detail is not None, f"{code} is not in the snapshot"
    return detail


@dataclass
class Live:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def update(self, entity: type[Base], *where: ColumnElement[bool], **values: Any) -> None:
        """Change rows behind the app's back (e.g. to age a token)."""
        async with app_state(self.app).sessionmaker() as session:
            await session.execute(update(entity).where(*where).values(**values))
            await session.commit()

    async def audit_events(self, event: str) -> list[AuditEvent]:
        async with app_state(self.app).sessionmaker() as session:
            rows = await session.execute(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))
            return list(rows.scalars().all())


def http_client(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client talking to ``app`` over ASGI, as if from ``ip``; a failing endpoint answers 500, never raises."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@asynccontextmanager
async def lifespan_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and give a client talking to it."""
    async with app.router.lifespan_context(app), http_client(app) as http:
        yield http


@asynccontextmanager
async def running(settings: Settings, extra_routes: APIRouter | None = None) -> AsyncIterator[Live]:
    """An app instance with its lifespan (and any test-only routes), and a client talking to it over ASGI."""
    app = create_app(settings)
    if extra_routes is not None:
        app.include_router(extra_routes)
    async with lifespan_client(app) as http:
        yield Live(app, http, settings)


def module_database(request: pytest.FixtureRequest, prefix: str) -> str:
    """The name of the requesting test module's own database: ``prefix`` and the module's name."""
    module: str = request.module.__name__
    return prefix + module.rsplit(".", 1)[-1].removeprefix("test_")


@asynccontextmanager
async def seeded(db_factory: DatabaseFactory, request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Live]:
    """An app over a database of its own for the requesting test module, seeded with the hand-made market."""
    settings = await db_factory.settings(module_database(request, prefix), snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings) as app:
        yield app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan already running) on a free loopback port; yields the ``ws://`` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As `kstock serve` runs it (its HTTP protocol, the sans-I/O WebSocket protocol), minus the factory and lifespan.
    settings: Settings = app_state(app).settings
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


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error body with ``status`` and ``code``; 401s also say how to authenticate."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert set(body) == {"error", "message", "details", "timestamp", "path", "request_id"}
    if status == 401:
        assert response.headers["www-authenticate"] == 'Bearer realm="kstock"'
    return body
