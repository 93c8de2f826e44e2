"""Helpers of the gateway tests: apps with limits turned on and routes that exist only in these tests, the
clock-aligned windows of the limits, and the metrics registry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import Settings
from kstock.db.session import SessionDep
from kstock.errors import ConflictError, UnauthorizedError
from kstock.gateway.audit import audit_event
from kstock.gateway.models import AuditEvent
from kstock.gateway.ratelimit import endpoint_class, enforce_rate_limit
from kstock.gateway.throttle import ip_of
from tests.support.app import app_state
from tests.support.databases import REDIS_URL, DatabaseFactory, is_postgres

# Routes that exist only in these tests, mounted under /v1 with the same limiter as the real ones.
test_routes = APIRouter(prefix="/v1", dependencies=[Depends(enforce_rate_limit)])


@test_routes.get("/test/echo")
async def echo() -> dict[str, bool]:
    return {"ok": True}


@test_routes.post("/test/secret")
async def post_secret(request: Request) -> dict[str, bool]:
    await request.body()  # the body carries a password too: it must never reach the audit log
    return {"ok": True}


@test_routes.post("/test/conflict")
async def post_conflict(session: SessionDep) -> None:
    # Writes, then fails: the request's transaction rolls back, its audit row must stay.
    session.add(AuditEvent(event="test.rolled_back", summary="{}"))
    await session.flush()
    raise ConflictError("Nothing to change")


@test_routes.post("/test/login-failed")
async def login_failed(request: Request) -> None:
    await audit_event(
        request,
        "auth.login_failed",
        status=401,
        details={"email": "who@example.com", "password": "hunter2", "nested": {"refresh_token": "rt-secret"}},
    )
    raise UnauthorizedError("Invalid e-mail or password")


@test_routes.post("/test/guarded-login")
async def guarded_login(request: Request, email: str) -> dict[str, bool]:
    await app_state(request.app).throttle.check_login(ip_of(request), email)
    return {"ok": True}


@test_routes.get("/trading/ping")
async def trading_ping() -> dict[str, bool]:
    return {"ok": True}


@test_routes.get("/test/marked")
@endpoint_class("trade")
async def marked() -> dict[str, bool]:
    return {"ok": True}


def engine_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


def gateway_settings(db_factory: DatabaseFactory, database_url: str, **overrides: Any) -> Settings:
    """Settings with request limits on, no snapshot polling, and (PostgreSQL pass) Redis keys of this test only."""
    values: dict[str, Any] = {"rate_limit_enabled": True, "snapshot_refresh_s": 0.0}
    if is_postgres():
        values.update(redis_url=REDIS_URL, redis_prefix=f"kstock-test:{db_factory.run_id}:gw-{uuid.uuid4().hex[:8]}:")
    values.update(overrides)
    return Settings(database_url=database_url, env="testing").model_copy(update=values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with the test routes above, its lifespan running; clients come from ``http_client``."""
    app = create_app(settings)
    app.include_router(test_routes)
    async with app.router.lifespan_context(app):
        yield app


async def fresh_window(window_s: int, need_s: float) -> None:
    """Wait, if needed, so that at least ``need_s`` seconds are left in the current clock-aligned window."""
    left = window_s - time.time() % window_s
    if left < need_s:
        await asyncio.sleep(left + 0.01)


def window_reset(window_s: int) -> int:
    """Epoch second at which the current clock-aligned window of ``window_s`` ends."""
    return (int(time.time()) // window_s + 1) * window_s


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
