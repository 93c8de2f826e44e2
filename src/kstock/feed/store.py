"""What the feed reads from and writes to the database: the instruments it simulates, the session's minute bars
and the daily bar written at the close (after which every API instance reloads its snapshot: new indicators,
new scores, screens that moved with the market)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kstock.feed.sim.instrument import Instrument
from kstock.kit.krx import InstrumentStatus
from kstock.market.indicators import recompute_indicators
from kstock.market.models import DailyBar as DailyBarRow
from kstock.market.models import Instrument as InstrumentRow
from kstock.market.models import MinuteBar as MinuteBarRow
from kstock.sources import DailyBar, MinuteBar


async def instruments(engine: AsyncEngine) -> tuple[list[Instrument], dt.date | None]:
    """Every listed (not delisted) stock with its last close, and the date of the newest stored bar."""
    async with engine.connect() as connection:
        latest = (
            select(DailyBarRow.code, func.max(DailyBarRow.trade_date).label("trade_date"))
            .group_by(DailyBarRow.code)
            .subquery()
        )
        statement = (
            select(
                InstrumentRow.code,
                InstrumentRow.market,
                InstrumentRow.shares_outstanding,
                DailyBarRow.close,
                DailyBarRow.trade_date,
            )
            .join(latest, latest.c.code == InstrumentRow.code)
            .join(DailyBarRow, and_(DailyBarRow.code == latest.c.code, DailyBarRow.trade_date == latest.c.trade_date))
            .where(InstrumentRow.status != InstrumentStatus.DELISTED.value)
            .order_by(InstrumentRow.code)
        )
        rows = (await connection.execute(statement)).all()
    found = [Instrument(row.code, row.market, int(row.close), row.shares_outstanding or None) for row in rows]
    last_day = max((_date(row.trade_date) for row in rows), default=None)
    return found, last_day


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _upsert(connection: AsyncConnection, table: Any, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> Any:
    insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    statement = insert(table).values(list(rows))
    updated = {name: statement.excluded[name] for name in rows[0] if name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=updated)


async def write_minute_bars(engine: AsyncEngine, bars: Sequence[MinuteBar], keep_days: int) -> None:
    """Store finished minute bars; bars older than ``keep_days`` days are dropped as the session goes on."""
    if not bars:
        return
    rows = [
        {
            "code": bar.code,
            "start": bar.start.astimezone(dt.UTC),
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "turnover": bar.turnover,
        }
        for bar in bars
    ]
    async with engine.begin() as connection:
        for start in range(0, len(rows), 2_000):
            await connection.execute(_upsert(connection, MinuteBarRow, rows[start : start + 2_000], ("code", "start")))
        cutoff = bars[-1].start.astimezone(dt.UTC) - dt.timedelta(days=keep_days)
        await connection.execute(delete(MinuteBarRow).where(MinuteBarRow.start < cutoff))


async def write_daily_bars(engine: AsyncEngine, bars: Sequence[DailyBar]) -> None:
    """The day's bars and the indicators recomputed from them (which bumps the market data version): one
    transaction."""
    if not bars:
        return
    rows = [
        {
            "code": bar.code,
            "trade_date": bar.trade_date,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "trade_value": bar.turnover,
        }
        for bar in bars
    ]
    async with engine.begin() as connection:
        for start in range(0, len(rows), 2_000):
            await connection.execute(
                _upsert(connection, DailyBarRow, rows[start : start + 2_000], ("code", "trade_date"))
            )
        await recompute_indicators(connection)
