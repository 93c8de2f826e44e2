"""Every market-data query. Core selects returning plain rows: no ORM objects on read paths."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kstock.db.base import AnyRow
from kstock.db.bulk import fetch_tuples
from kstock.market.models import DailyBar, FinancialStatement, Instrument, StockIndicator
from kstock.market.table import NUMERIC_COLUMNS


async def all_stocks(connection: AsyncConnection) -> Sequence[AnyRow]:
    """Every instrument with every stored figure (the snapshot's source), by code."""
    stored = StockIndicator.__table__.c
    figures = [stored[name] for name in NUMERIC_COLUMNS if name in stored]
    statement = (
        select(
            Instrument.code,
            Instrument.name,
            Instrument.market,
            Instrument.sector,
            Instrument.industry,
            Instrument.name_en,
            Instrument.isin,
            Instrument.segment,
            Instrument.listing_date,
            Instrument.shares_outstanding,
            Instrument.status,
            StockIndicator.trade_date,
            *figures,
        )
        .outerjoin(StockIndicator, StockIndicator.code == Instrument.code)
        .order_by(Instrument.code)
    )
    return (await connection.execute(statement)).all()


async def stock_exists(session: AsyncSession, code: str) -> bool:
    statement = select(Instrument.code).where(Instrument.code == code)
    return (await session.execute(statement)).first() is not None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


async def search_stocks(session: AsyncSession, query: str, market: str | None, limit: int) -> Sequence[AnyRow]:
    """Instruments whose code starts with, or whose Korean/English name contains, ``query`` (case-insensitive).

    Returns up to ``limit * 5`` candidates ordered by market cap; the service ranks them.
    """
    pattern = _like_pattern(query)
    code_prefix = _like_pattern(query.upper())[1:]
    statement = (
        select(
            Instrument.code,
            Instrument.name,
            Instrument.name_en,
            Instrument.market,
            Instrument.sector,
            Instrument.status,
            StockIndicator.market_cap,
        )
        .outerjoin(StockIndicator, StockIndicator.code == Instrument.code)
        .where(
            or_(
                func.lower(Instrument.code).like(code_prefix.lower(), escape="\\"),
                func.lower(Instrument.name).like(pattern, escape="\\"),
                func.lower(Instrument.name_en).like(pattern, escape="\\"),
            )
        )
        .order_by(StockIndicator.market_cap.desc().nulls_last(), Instrument.code)
        .limit(limit * 5)
    )
    if market is not None:
        statement = statement.where(Instrument.market == market)
    return (await session.execute(statement)).all()


_DAILY_BARS_SQL = (
    "SELECT trade_date, open, high, low, close, volume FROM daily_bars"
    " WHERE code = ? AND trade_date >= ? AND trade_date <= ? ORDER BY trade_date"
)


async def daily_bars(
    session: AsyncSession, code: str, from_date: dt.date, to_date: dt.date
) -> list[tuple[dt.date, int, int, int, int, int]]:
    """Daily bars of one stock in ``[from_date, to_date]``, oldest first, as plain tuples.

    Ten years are ~2,500 rows: read through the driver (half the cost of SQLAlchemy rows), dates normalised.
    """
    rows = await fetch_tuples(session, _DAILY_BARS_SQL, (code, from_date, to_date))
    if rows and isinstance(rows[0][0], str):
        parse = dt.date.fromisoformat
        return [(parse(d), o, h, lo, c, v) for d, o, h, lo, c, v in rows]
    return rows


async def day_range(session: AsyncSession, code: str, day: dt.date) -> tuple[int, int] | None:
    """A stock's low and high on ``day``, when that day's bar is on file."""
    statement = select(DailyBar.low, DailyBar.high).where(DailyBar.code == code, DailyBar.trade_date == day)
    bar = (await session.execute(statement)).first()
    return None if bar is None else (bar.low, bar.high)


async def closes(
    session: AsyncSession, codes: Iterable[str], from_date: dt.date, to_date: dt.date
) -> dict[str, list[tuple[dt.date, int]]]:
    """The daily closes of some stocks in ``[from_date, to_date]``: per code, oldest first (codes without a bar in
    the range are absent)."""
    statement = (
        select(DailyBar.code, DailyBar.trade_date, DailyBar.close)
        .where(DailyBar.code.in_(set(codes)), DailyBar.trade_date >= from_date, DailyBar.trade_date <= to_date)
        .order_by(DailyBar.code, DailyBar.trade_date)
    )
    found: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for code, day, close in (await session.execute(statement)).all():
        found[code].append((day, close))
    return found


async def financial_statements(session: AsyncSession, code: str, period_type: str, years: int) -> Sequence[AnyRow]:
    """Statements of the latest ``years`` fiscal years on file, newest first."""
    latest_year = (
        await session.execute(
            select(func.max(FinancialStatement.fiscal_year)).where(
                FinancialStatement.code == code, FinancialStatement.period_type == period_type
            )
        )
    ).scalar()
    if latest_year is None:
        return []
    statement = (
        select(
            FinancialStatement.fiscal_year,
            FinancialStatement.fiscal_quarter,
            FinancialStatement.report_date,
            FinancialStatement.revenue,
            FinancialStatement.operating_profit,
            FinancialStatement.net_profit,
            FinancialStatement.total_equity,
            FinancialStatement.eps,
            FinancialStatement.bps,
            FinancialStatement.dps,
        )
        .where(
            FinancialStatement.code == code,
            FinancialStatement.period_type == period_type,
            FinancialStatement.fiscal_year > latest_year - years,
        )
        .order_by(FinancialStatement.fiscal_year.desc(), FinancialStatement.fiscal_quarter.desc())
    )
    return (await session.execute(statement)).all()
