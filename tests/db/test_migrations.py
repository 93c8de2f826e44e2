"""Migrations run up, down and up again on the selected backend, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from kstock.db import migrate
from kstock.db.base import Base
from kstock.db.engine import create_engine
from tests.support.databases import DatabaseFactory

TABLES = {
    "instruments",
    "daily_bars",
    "financial_statements",
    "stock_indicators",
    "data_versions",
    "users",
    "refresh_tokens",
    "api_keys",
    "audit_events",
    "saved_screens",
    "portfolios",
    "portfolio_transactions",
    "portfolio_holdings",
    "minute_bars",
    "trading_accounts",
    "trading_positions",
    "trading_orders",
    "trading_fills",
    "trading_events",
    "trading_equity",
    "trading_strategies",
    "trading_signals",
}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade(db_factory: DatabaseFactory) -> None:
    engine = create_engine(await db_factory.settings("migrations"))
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
            assert await connection.run_sync(_diff) == []
        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # idempotent
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
