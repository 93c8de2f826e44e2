"""One app (and database, seeded with the hand-made market) per identity test module, and a few accounts.

argon2 is slow on purpose, so accounts are made once per module and shared by its tests; a test that ends a
session signs in again instead of registering.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from sqlalchemy import ColumnElement, select, update

from kstock.app import create_app
from kstock.config import Settings
from kstock.db.base import Base
from kstock.gateway.models import AuditEvent
from kstock.identity import service
from kstock.identity.principal import Role, Tier
from tests.conftest import DatabaseFactory
from tests.seed import seed_market

PASSWORD = "correct-horse-battery"


@dataclass
class Live:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def update(self, entity: type[Base], *where: ColumnElement[bool], **values: Any) -> None:
        """Change rows behind the app's back (e.g. to age a token)."""
        async with self.app.state.sessionmaker() as session:
            await session.execute(update(entity).where(*where).values(**values))
            await session.commit()

    async def audit_events(self, event: str) -> list[AuditEvent]:
        async with self.app.state.sessionmaker() as session:
            rows = await session.execute(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))
            return list(rows.scalars().all())


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running(settings: Settings, extra_routes: APIRouter | None = None) -> AsyncIterator[Live]:
    """An app instance with its lifespan (and any test-only routes), and a client talking to it over ASGI."""
    app = create_app(settings)
    if extra_routes is not None:
        app.include_router(extra_routes)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Live(app, http, settings)


@asynccontextmanager
async def seeded(db_factory: DatabaseFactory, request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Live]:
    """An app over a database of its own for the requesting test module, seeded with the hand-made market."""
    name = prefix + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    settings = await db_factory.settings(name, snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings) as app:
        yield app


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    async with seeded(db_factory, request, "identity_") as app:
        yield app


async def login(live: Live, email: str, password: str = PASSWORD) -> Account:
    response = await live.http.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(uuid.UUID(body["user"]["id"]), email, password, body["access_token"], body["refresh_token"])


async def make_account(
    live: Live, email: str, *, tier: Tier = Tier.FREE, role: Role = Role.USER, password: str = PASSWORD
) -> Account:
    """An account made through the service (as the CLI does), signed in over HTTP."""
    async with live.app.state.sessionmaker() as session:
        await service.create_user(session, email, password, "Test User", tier=tier, role=role)
        await session.commit()
    return await login(live, email, password)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error body with ``status`` and ``code``; 401s also say how to authenticate."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert set(body) == {"error", "message", "details", "timestamp", "path", "request_id"}
    if status == 401:
        assert response.headers["www-authenticate"] == 'Bearer realm="kstock"'
    return body
