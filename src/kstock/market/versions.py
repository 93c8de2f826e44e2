"""Data-set version counters: writers bump them in their transaction, readers poll them to refresh caches."""

from __future__ import annotations

from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kstock.market.models import DataVersion

MARKET_DATA: Final = "market"


async def bump_version(connection: AsyncConnection, name: str) -> None:
    """Increment ``name``'s version inside the caller's transaction (creating it at 1)."""
    result = await connection.execute(
        update(DataVersion).where(DataVersion.name == name).values(version=DataVersion.version + 1)
    )
    if result.rowcount == 0:
        await connection.execute(insert(DataVersion).values(name=name, version=1))


async def current_version(connection: AsyncConnection, name: str) -> int:
    """The version of ``name``; 0 before any writer bumped it."""
    value = (await connection.execute(select(DataVersion.version).where(DataVersion.name == name))).scalar()
    return int(value or 0)
