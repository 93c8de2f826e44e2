"""Every market-data query. Core selects returning plain rows: no ORM objects on read paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.db.base import AnyRow, AnySelect
from kstock.market.models import DailyBar, FinancialStatement, Instrument, StockIndicator

_SUMMARY_COLUMNS = (
    Instrument.code,
    Instrument.name,
    Instrument.market,
    Instrument.sector,
    Instrument.industry,
    StockIndicator.close_price,
    StockIndicator.change_pct,
    StockIndicator.volume,
    StockIndicator.market_cap,
    StockIndicator.trade_date,
)

_DETAIL_COLUMNS = (
    *_SUMMARY_COLUMNS,
    Instrument.name_en,
    Instrument.isin,
    Instrument.segment,
    Instrument.listing_date,
    Instrument.shares_outstanding,
    Instrument.status,
    StockIndicator.per,
    StockIndicator.pbr,
    StockIndicator.roe,
    StockIndicator.dividend_yield,
    StockIndicator.eps_ttm,
    StockIndicator.bps,
    StockIndicator.dps,
    StockIndicator.high_52w,
    StockIndicator.low_52w,
    StockIndicator.quality_score,
    StockIndicator.value_score,
    StockIndicator.growth_score,
)

_SORT_COLUMNS: dict[str, Any] = {
    "code": Instrument.code,
    "name": Instrument.name,
    "market_cap": StockIndicator.market_cap,
    "close_price": StockIndicator.close_price,
    "change_pct": StockIndicator.change_pct,
    "volume": StockIndicator.volume,
}


def _filtered(statement: AnySelect, market: str | None, sector: str | None) -> AnySelect:
    if market is not None:
        statement = statement.where(Instrument.market == market)
    if sector is not None:
        statement = statement.where(Instrument.sector == sector)
    return statement


async def list_stocks(
    session: AsyncSession,
    *,
    market: str | None,
    sector: str | None,
    sort_by: str,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[Sequence[AnyRow], int]:
    """One page of instruments with their latest figures, and the total count."""
    total = (
        await session.execute(_filtered(select(func.count()).select_from(Instrument), market, sector))
    ).scalar_one()
    sort_column = _SORT_COLUMNS[sort_by]
    order = sort_column.desc() if descending else sort_column.asc()
    statement = _filtered(
        select(*_SUMMARY_COLUMNS).outerjoin(StockIndicator, StockIndicator.code == Instrument.code), market, sector
    ).order_by(order.nulls_last(), Instrument.code)
    rows = (await session.execute(statement.offset(offset).limit(limit))).all()
    return rows, int(total)


async def get_stock(session: AsyncSession, code: str) -> AnyRow | None:
    """One instrument with every derived figure, or None."""
    statement = (
        select(*_DETAIL_COLUMNS)
        .outerjoin(StockIndicator, StockIndicator.code == Instrument.code)
        .where(Instrument.code == code)
    )
    return (await session.execute(statement)).first()


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


async def daily_bars(session: AsyncSession, code: str, from_date: dt.date, to_date: dt.date) -> Sequence[AnyRow]:
    """Daily bars of one stock in ``[from_date, to_date]``, oldest first."""
    statement = (
        select(DailyBar.trade_date, DailyBar.open, DailyBar.high, DailyBar.low, DailyBar.close, DailyBar.volume)
        .where(DailyBar.code == code, DailyBar.trade_date >= from_date, DailyBar.trade_date <= to_date)
        .order_by(DailyBar.trade_date)
    )
    return (await session.execute(statement)).all()


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
