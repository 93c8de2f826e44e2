"""Helpers of the gateway tests: apps with limits turned on, users and credentials made in the database, test
routes, a redis-server of the test's own."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import Settings
from kstock.db.engine import create_sessionmaker
from kstock.db.session import SessionDep
from kstock.errors import ConflictError, UnauthorizedError
from kstock.gateway.audit import audit_event
from kstock.gateway.models import AuditEvent
from kstock.gateway.ratelimit import endpoint_class, enforce_rate_limit
from kstock.identity.models import ApiKey, User
from kstock.identity.principal import Role, Tier
from kstock.identity.security import create_access_token, new_secret, secret_digest
from tests.conftest import REDIS_URL, DatabaseFactory, is_postgres

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
    await request.app.state.throttle.check_login(request, email)
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
    app = create_app(settings)
    app.include_router(test_routes)
    async with app.router.lifespan_context(app):
        yield app


def http_client(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@dataclass(frozen=True)
class Account:
    user_id: uuid.UUID
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(settings: Settings, engine: AsyncEngine, tier: Tier = Tier.FREE, role: Role = Role.USER) -> Account:
    """A user written straight into the database, with an access token minted for it."""
    user = User(
        email=f"{uuid.uuid4().hex[:10]}@example.com",
        name="Test",
        password_hash="not-used",
        tier=tier.value,
        role=role.value,
    )
    async with create_sessionmaker(engine)() as session:
        session.add(user)
        await session.commit()
    token, _, _ = create_access_token(settings, user.id)
    return Account(user.id, token)


async def make_api_key(engine: AsyncEngine, user_id: uuid.UUID) -> tuple[str, str]:
    """An API key of ``user_id``: (raw key, prefix)."""
    raw = f"ks_{new_secret(24)}"
    prefix = raw[:12]
    async with create_sessionmaker(engine)() as session:
        session.add(ApiKey(user_id=user_id, name="test", prefix=prefix, key_hash=secret_digest(raw), scopes="read"))
        await session.commit()
    return raw, prefix


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A redis-server process of the test's own, on a fixed port, that can be killed and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self._process = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    if await client.ping():
                        return
                except OSError:
                    pass
                except Exception:  # noqa: S110 - redis ConnectionError while it starts
                    pass
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise RuntimeError("redis-server did not start")

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._process = None


@asynccontextmanager
async def own_redis() -> AsyncIterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    server = RedisServer(free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class LogRecorder:
    """Stands in for a module's structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        def record(event: str, **fields: Any) -> None:
            self.records.append((level, event, fields))

        return record

    def events(self, level: str | None = None) -> list[str]:
        return [event for lvl, event, _ in self.records if level is None or lvl == level]
