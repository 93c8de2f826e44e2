"""The table cleaner behind ``clean_engine``: every table the migrations make, each before the tables it refers to,
on SQLite and PostgreSQL; Alembic's revision stays."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.db import migrate
from kstock.db.base import Base
from kstock.db.engine import create_sessionmaker
from kstock.gateway.models import AuditEvent
from kstock.identity.models import User
from kstock.market.models import Instrument
from kstock.portfolio.models import Portfolio
from kstock.screener.models import SavedScreen
from tests.support.accounts import make_api_key
from tests.support.databases import ALEMBIC_VERSION_TABLE, empty_tables, tables_child_first


def _table_names(connection: Connection) -> list[str]:
    return inspect(connection).get_table_names()


async def test_the_cleaner_knows_every_table_the_migrations_make(clean_engine: AsyncEngine) -> None:
    async with clean_engine.connect() as connection:
        migrated = await connection.run_sync(_table_names)
    assert ALEMBIC_VERSION_TABLE in migrated
    assert sorted(tables_child_first()) == sorted(set(migrated) - {ALEMBIC_VERSION_TABLE})


def test_children_come_before_the_tables_they_refer_to() -> None:
    order = tables_child_first()
    for child in Base.metadata.sorted_tables:
        for key in child.foreign_keys:
            parent = key.column.table
            if parent is not child:
                assert order.index(child.name) < order.index(parent.name), (child.name, parent.name)


async def test_rows_of_every_domain_go_and_the_revision_stays(clean_engine: AsyncEngine) -> None:
    async with create_sessionmaker(clean_engine)() as session:
        user = User(email="cleaner@example.com", name="Cleaner", password_hash="not-used")
        session.add(user)
        await session.flush()
        session.add_all(
            [
                Portfolio(user_id=user.id, name="main"),
                SavedScreen(user_id=user.id, name="cheap", definition={"conditions": []}),
                Instrument(code="005930", name="삼성전자", market="KOSPI", status="active"),
                AuditEvent(event="test.cleaner", summary="{}"),
            ]
        )
        await session.commit()
    await make_api_key(clean_engine, user.id)

    await empty_tables(clean_engine)

    async with clean_engine.connect() as connection:
        for name in tables_child_first():
            count = (await connection.execute(select(func.count()).select_from(table(name)))).scalar_one()
            assert count == 0, name
    assert await migrate.current_revision(clean_engine) == migrate.head_revision()
