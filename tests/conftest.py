"""The fixtures every test folder may use; the helpers behind them live in ``tests/support``.

The suite runs once per backend (see ``tests/support/databases.py``): by default on SQLite files, and with
``KSTOCK_TEST_BACKEND=postgres`` on fresh PostgreSQL databases and Redis. Nothing is mocked: every test talks to
the real database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.demo import generate_demo
from tests.support.app import Live, lifespan_client, seeded
from tests.support.databases import (
    DEMO_SEED,
    DEMO_STOCKS,
    DEMO_YEARS,
    KRX_DATA_DIR,
    DatabaseFactory,
    empty_tables,
)
from tests.support.redis import RedisServer, redis_server
from tests.support.seed import seed_market


@pytest.fixture(scope="session")
def krx_data_dir() -> Path:
    """The real KRX data bundle; tests that need it skip where it is absent."""
    if not KRX_DATA_DIR.is_dir():
        pytest.skip(f"KRX data not found at {KRX_DATA_DIR} (set KSTOCK_KRX_DATA_DIR)")
    return KRX_DATA_DIR


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


@pytest_asyncio.fixture(loop_scope="session")
async def clean_engine(_scratch_engine: AsyncEngine) -> AsyncEngine:
    """A migrated database with every table emptied before each test (for tests that write)."""
    await empty_tables(_scratch_engine)
    return _scratch_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_settings(db_factory: DatabaseFactory) -> AsyncIterator[Settings]:
    """Settings of a database holding a small demo dataset, loaded once per run; tests must not write to it."""
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
    """Settings of a database holding the hand-made market, shared by the whole run (read-only)."""
    settings = await db_factory.settings("market")
    await seed_market(settings)
    return settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(market_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app (lifespan and all) over ASGI."""
    app = create_app(market_settings)
    async with lifespan_client(app) as http:
        yield http


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    """An app over a database of the requesting module's own (named after its folder and file), seeded with the
    hand-made market; the module's tests share it."""
    folder: str = request.module.__name__.split(".")[1]
    async with seeded(db_factory, request, f"{folder}_") as app:
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def own_redis() -> AsyncIterator[RedisServer]:
    """A redis-server of the test's own (see ``tests/support/redis.py``)."""
    async with redis_server() as server:
        yield server
