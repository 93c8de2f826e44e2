"""Test fixtures for both backends.

The suite runs once per backend: by default on SQLite files, and with ``KSTOCK_TEST_BACKEND=postgres`` on a
fresh PostgreSQL database created for the run (``KSTOCK_TEST_PG_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432``) and dropped at the end. Nothing is mocked: every test talks to
the real database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine

BACKEND = os.environ.get("KSTOCK_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("KSTOCK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
# The PostgreSQL pass also puts every shared counter, revocation and channel in Redis.
REDIS_URL = os.environ.get("KSTOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO_ROOT = Path(__file__).resolve().parent.parent
KRX_DATA_DIR = Path(os.environ.get("KSTOCK_KRX_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "krx"))

# Small but complete: enough stocks for paging and filters, enough years for 52-week and 5-year queries.
DEMO_STOCKS = 60
DEMO_YEARS = 6
DEMO_SEED = 7


def is_postgres() -> bool:
    return BACKEND == "postgres"


@pytest.fixture(scope="session")
def krx_data_dir() -> Path:
    """The real KRX data bundle; tests that need it skip where it is absent."""
    if not KRX_DATA_DIR.is_dir():
        pytest.skip(f"KRX data not found at {KRX_DATA_DIR} (set KSTOCK_KRX_DATA_DIR)")
    return KRX_DATA_DIR


async def _pg_admin(sql: str) -> None:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class DatabaseFactory:
    """Makes throwaway databases for the selected backend and removes them at the end of the run."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    async def url(self, name: str) -> str:
        if is_postgres():
            db_name = f"kstock_test_{self.run_id}_{name}"
            await _pg_admin(f'CREATE DATABASE "{db_name}"')
            self.created.append(db_name)
            return f"{PG_URL}/{db_name}"
        return f"sqlite+aiosqlite:///{self.tmp_dir / f'{name}.db'}"

    async def settings(self, name: str, **overrides: object) -> Settings:
        # Request limits would throttle the suite's bursts of requests; tests/gateway turns them on where tested.
        settings = Settings(database_url=await self.url(name), env="testing", rate_limit_enabled=False)
        if is_postgres():
            # Keys of this run (and of this database) never meet another run's.
            overrides = {"redis_url": REDIS_URL, "redis_prefix": f"kstock-test:{self.run_id}:{name}:", **overrides}
        return settings.model_copy(update=overrides) if overrides else settings

    async def drop_all(self) -> None:
        for db_name in self.created:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if is_postgres():
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL)
            try:
                keys = [key async for key in redis.scan_iter(match=f"kstock-test:{self.run_id}:*", count=1000)]
                if keys:
                    await redis.delete(*keys)
            finally:
                await redis.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_factory(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    await factory.drop_all()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _scratch_engine(db_factory: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await db_factory.settings("scratch"))
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


TABLES_CHILD_FIRST = (
    "audit_events",
    "api_keys",
    "refresh_tokens",
    "users",
    "stock_indicators",
    "financial_statements",
    "minute_bars",
    "daily_bars",
    "instruments",
    "data_versions",
)


@pytest_asyncio.fixture(loop_scope="session")
async def clean_engine(_scratch_engine: AsyncEngine) -> AsyncEngine:
    """A migrated database emptied before each test (for tests that write)."""
    async with _scratch_engine.begin() as connection:
        for table in TABLES_CHILD_FIRST:
            await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
    return _scratch_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_settings(db_factory: DatabaseFactory) -> AsyncIterator[Settings]:
    """Settings of a database holding a small demo dataset, loaded once per run; tests must not write to it."""
    from kstock.market.demo import generate_demo

    settings = await db_factory.settings("demo")
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await generate_demo(engine, stocks=DEMO_STOCKS, years=DEMO_YEARS, seed=DEMO_SEED, replace=False, progress=None)
    await engine.dispose()
    yield settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_engine(demo_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(demo_settings)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def market_settings(db_factory: DatabaseFactory) -> Settings:
    settings = await db_factory.settings("market")
    from tests.seed import seed_market

    await seed_market(settings)
    return settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(market_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app (lifespan and all) over ASGI."""
    app = create_app(market_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
