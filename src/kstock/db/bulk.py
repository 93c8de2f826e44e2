"""Bulk write paths: COPY on PostgreSQL, one ``executemany`` on SQLite, both inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def copy_rows(
    connection: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append ``rows`` to ``table`` as fast as the backend allows, in the connection's open transaction.

    The rows must already be valid: constraints are still checked by the database, and a violation aborts
    the caller's transaction.
    """
    if not rows:
        return
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "postgresql":
        if not driver.is_in_transaction():
            # SQLAlchemy begins the server-side transaction lazily, on its first statement: without one, the
            # COPY would run (and commit) on its own, outside the caller's rollback.
            await connection.exec_driver_sql("SELECT 1")
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))
    else:
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608 - fixed identifiers
        await driver.executemany(sql, rows)


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """What a merge did: rows added, rows whose values changed, rows already identical."""

    inserted: int
    updated: int
    unchanged: int


def _staging_name(table: str) -> str:
    return f"_stage_{table}"


async def merge_rows(
    connection: AsyncConnection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    touch: str | None = None,
) -> MergeCounts:
    """Upsert ``rows`` into ``table`` through a temporary staging table, in the connection's open transaction.

    Rows are bulk-loaded (:func:`copy_rows`) into a staging table shaped like ``columns`` of ``table``; then one
    ``UPDATE ... FROM`` rewrites the existing rows whose ``update`` columns (default: every non-key column)
    differ, and one ``INSERT ... SELECT ... WHERE NOT EXISTS`` adds the new keys with all ``columns``. Existing
    rows with equal values are not written at all, so a repeated load is a no-op. ``touch`` names a timestamp
    column set to the current time on every changed row. ``rows`` must not repeat a key.
    """
    if not rows:
        return MergeCounts(0, 0, 0)
    stage = _staging_name(table)
    column_list = ", ".join(columns)
    update_columns = [c for c in (update if update is not None else columns) if c not in key]
    postgres = connection.dialect.name == "postgresql"
    # Identifiers in the SQL below come from the callers' code (table and column names), never from data.
    if postgres:
        await connection.execute(
            text(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {column_list} FROM {table} WITH NO DATA")  # noqa: S608
        )
    else:
        await connection.execute(text(f"DROP TABLE IF EXISTS temp.{stage}"))
        await connection.execute(
            text(f"CREATE TEMP TABLE {stage} AS SELECT {column_list} FROM {table} WHERE 0")  # noqa: S608
        )
    await copy_rows(connection, stage, columns, rows)
    if postgres:
        # Temporary tables are never auto-analysed; without statistics the planner guesses badly for the joins.
        await connection.execute(text(f"ANALYZE {stage}"))

    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    # The range bound on the leading key column lets both backends probe the primary key for a batch that covers
    # a slice of codes (files come sorted by code) instead of scanning the whole table for every batch.
    lead = key[0]
    lead_range = f"t.{lead} BETWEEN (SELECT MIN({lead}) FROM {stage}) AND (SELECT MAX({lead}) FROM {stage})"  # noqa: S608
    key_match = " AND ".join([f"t.{c} = s.{c}" for c in key] + [lead_range])
    updated = 0
    if update_columns:
        assignments = ", ".join(
            [f"{c} = s.{c}" for c in update_columns] + ([f"{touch} = CURRENT_TIMESTAMP"] if touch else [])
        )
        changed = " OR ".join(f"t.{c} {distinct} s.{c}" for c in update_columns)
        result = await connection.execute(
            text(f"UPDATE {table} AS t SET {assignments} FROM {stage} AS s WHERE {key_match} AND ({changed})")  # noqa: S608
        )
        updated = max(result.rowcount, 0)
    result = await connection.execute(
        text(
            f"INSERT INTO {table} ({column_list}) SELECT {', '.join(f's.{c}' for c in columns)} FROM {stage} AS s"  # noqa: S608
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {key_match})"
        )
    )
    inserted = max(result.rowcount, 0)
    # Dropped at once (not only at commit) so one transaction may merge into the same table again.
    await connection.execute(text(f"DROP TABLE {'pg_temp' if postgres else 'temp'}.{stage}"))
    return MergeCounts(inserted=inserted, updated=updated, unchanged=len(rows) - inserted - updated)


async def fetch_tuples(session: AsyncSession, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a read on the driver itself, skipping SQLAlchemy's per-row result processing.

    For hot paths (a stock's history, a portfolio's holdings). ``sql`` uses ``?`` placeholders; dates in
    ``params`` are passed as ISO text to SQLite, UUIDs as the 32 hex digits SQLAlchemy stores there. Values come
    back as the driver makes them: SQLite dates and times are ISO text (UUIDs hex text), PostgreSQL's are
    ``datetime`` objects (UUIDs ``uuid.UUID``-like).
    """
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        numbers = iter(range(1, len(params) + 1))
        records = await driver.fetch(re.sub(r"\?", lambda _: f"${next(numbers)}", sql), *params)
        return [tuple(record) for record in records]
    sqlite_params = [
        p.isoformat() if isinstance(p, dt.date) else p.hex if isinstance(p, uuid.UUID) else p for p in params
    ]
    cursor = await driver.execute(sql, sqlite_params)
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()
