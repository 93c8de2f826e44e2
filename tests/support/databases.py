"""The backend of the run, throwaway databases, and the table cleaner.

The suite runs once per backend: by default on SQLite files, and with ``KSTOCK_TEST_BACKEND=postgres`` on fresh
PostgreSQL databases created for the run (``KSTOCK_TEST_PG_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432``) and dropped at the end, with Redis for every shared counter,
revocation and channel. Nothing is mocked: every test talks to the real database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import kstock.models  # noqa: F401 - registers every domain's tables in the metadata
from kstock.config import Settings
from kstock.db import migrate
from kstock.db.base import Base
from kstock.db.engine import create_engine
from kstock.market.demo import generate_demo

BACKEND = os.environ.get("KSTOCK_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("KSTOCK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
# The PostgreSQL pass also puts every shared counter, revocation and channel in Redis.
REDIS_URL = os.environ.get("KSTOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO_ROOT = Path(__file__).resolve().parents[2]
KRX_DATA_DIR = Path(os.environ.get("KSTOCK_KRX_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "krx"))

# Small but complete: enough stocks for paging and filters, enough years for 52-week and 5-year queries.
DEMO_STOCKS = 60
DEMO_YEARS = 6
DEMO_SEED = 7

# The stream tests' market: 60 stocks, enough to pass the free tier's 20-code limit.
STREAM_STOCKS = 60

ALEMBIC_VERSION_TABLE = "alembic_version"


def is_postgres() -> bool:
    return BACKEND == "postgres"


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


def tables_child_first() -> list[str]:
    """Every table of every domain, each before the tables it refers to (Alembic's own table is not one)."""
    tables = reversed(Base.metadata.sorted_tables)
    return [table.name for table in tables if table.name != ALEMBIC_VERSION_TABLE]


async def empty_tables(engine: AsyncEngine) -> None:
    """Delete every row of every table the models declare, children first; the schema and Alembic's revision stay.

    DELETE on both backends: a test leaves a few rows, and on PostgreSQL one ``TRUNCATE ... CASCADE`` of every
    table costs about 80 ms against 4 ms for the DELETEs (measured on the migrated schema)."""
    async with engine.begin() as connection:
        quote = connection.dialect.identifier_preparer.quote
        for name in tables_child_first():
            await connection.execute(text(f"DELETE FROM {quote(name)}"))  # noqa: S608 - names from the metadata


async def stream_settings(db_factory: DatabaseFactory, name: str, **overrides: Any) -> Settings:
    """A database of its own holding a small demo market, and the settings the stream tests run the app with."""
    settings = await db_factory.settings(name, **{"snapshot_refresh_s": 0, "ws_batch_window_ms": 50, **overrides})
    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        await generate_demo(engine, stocks=STREAM_STOCKS, years=1, seed=11, replace=False, progress=None)
    finally:
        await engine.dispose()
    return settings
