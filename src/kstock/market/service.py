"""Market-data rules: stock lookup, search ranking, bar aggregation, financial ratios."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.db.base import AnyRow
from kstock.errors import NotFoundError, UnprocessableError, ValidationError
from kstock.kit.dates import require_order
from kstock.kit.krx import is_valid_code
from kstock.kit.numbers import percent
from kstock.market import repository
from kstock.market.schemas import Interval, PeriodType
from kstock.market.snapshot import MarketSnapshot

MAX_HISTORY_YEARS: Final = 50


class StockNotFoundError(NotFoundError):
    code = "STOCK_NOT_FOUND"


def normalize_code(raw: str) -> str:
    """A path's stock code, upper-cased; a 400 when it cannot be a KRX code."""
    code = raw.strip().upper()
    if not is_valid_code(code):
        raise ValidationError(
            "Invalid stock code", {"stock_code": ["must be 6 characters of digits and upper-case letters"]}
        )
    return code


def list_stocks(
    snapshot: MarketSnapshot,
    *,
    market: str | None,
    sector: str | None,
    sort_by: str,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of stocks with their latest price, and the total matching (from the in-memory snapshot)."""
    return snapshot.page(
        market=market, sector=sector, sort_by=sort_by, descending=descending, offset=offset, limit=limit
    )


def get_stock(snapshot: MarketSnapshot, code: str) -> dict[str, Any]:
    """One stock's detail; 404 STOCK_NOT_FOUND when the code is unknown."""
    detail = snapshot.get(code)
    if detail is None:
        raise StockNotFoundError(f"Stock {code} not found", {"stock_code": code})
    return detail


async def require_stock(session: AsyncSession, code: str) -> None:
    if not await repository.stock_exists(session, code):
        raise StockNotFoundError(f"Stock {code} not found", {"stock_code": code})


def _search_rank(row: AnyRow, query: str) -> int:
    upper = query.upper()
    lower = query.lower()
    if row.code == upper:
        return 0
    if row.code.startswith(upper):
        return 1
    names = [row.name.lower(), (row.name_en or "").lower()]
    if any(name == lower for name in names):
        return 2
    if any(name.startswith(lower) for name in names):
        return 3
    return 4


async def search(session: AsyncSession, query: str, market: str | None, limit: int) -> list[dict[str, Any]]:
    """Stocks matching a code prefix or a name substring: exact code, code prefix, exact name, name prefix, rest.

    Ties keep the larger company first.
    """
    rows = await repository.search_stocks(session, query, market, limit)
    ranked = sorted(rows, key=lambda row: _search_rank(row, query))
    return [
        {
            "code": row.code,
            "name": row.name,
            "name_en": row.name_en,
            "market": row.market,
            "sector": row.sector,
            "status": row.status,
        }
        for row in ranked[:limit]
    ]


def aggregate_bars(bars: Iterable[Sequence[Any]], interval: Interval) -> list[dict[str, Any]]:
    """Daily bars (trade_date, open, high, low, close, volume; oldest first) as daily, weekly or monthly bars.

    A period's bar has the first open, the highest high, the lowest low, the last close and the summed
    volume of its days; its ``trade_date`` is the last trading day of the period inside the range. Weeks are
    ISO weeks (Monday to Sunday); months are calendar months.
    """
    result: list[dict[str, Any]] = []
    current_key: tuple[int, int] | None = None
    current: dict[str, Any] | None = None
    for trade_date, open_, high, low, close, volume in bars:
        if interval is Interval.DAILY:
            result.append(
                {"trade_date": trade_date, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
            )
            continue
        if interval is Interval.WEEKLY:
            iso = trade_date.isocalendar()
            key = (iso.year, iso.week)
        else:
            key = (trade_date.year, trade_date.month)
        if key != current_key or current is None:
            current_key = key
            current = {"trade_date": trade_date, "open": open_, "high": high, "low": low, "close": close}
            current["volume"] = volume
            result.append(current)
        else:
            current["trade_date"] = trade_date
            current["high"] = max(current["high"], high)
            current["low"] = min(current["low"], low)
            current["close"] = close
            current["volume"] += volume
    return result


def resolve_range(from_date: dt.date | None, to_date: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """Defaults: to today, from one year before ``to_date``; 422 when from is after to or the span is absurd."""
    end = to_date or today
    start = from_date or _years_before(end, 1)
    require_order(start, end)
    if start < _years_before(end, MAX_HISTORY_YEARS):
        raise UnprocessableError(
            f"The range may span at most {MAX_HISTORY_YEARS} years",
            {"from_date": [f"must be within {MAX_HISTORY_YEARS} years of to_date"]},
            code="INVALID_DATE_RANGE",
        )
    return start, end


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


async def price_history(
    session: AsyncSession, code: str, from_date: dt.date, to_date: dt.date, interval: Interval
) -> list[dict[str, Any]]:
    """Bars of one stock for a range; 404 when the stock is unknown."""
    bars = await repository.daily_bars(session, code, from_date, to_date)
    if not bars:
        await require_stock(session, code)
    return aggregate_bars(bars, interval)


async def financials(session: AsyncSession, code: str, period_type: PeriodType, years: int) -> list[dict[str, Any]]:
    """Statements for the latest ``years`` fiscal years with ROE and margins; 404 when the stock is unknown."""
    rows = await repository.financial_statements(session, code, period_type.value, years)
    if not rows:
        await require_stock(session, code)
    annualise = 4 if period_type is PeriodType.QUARTERLY else 1
    return [
        {
            "fiscal_year": row.fiscal_year,
            "fiscal_quarter": row.fiscal_quarter or None,
            "report_date": row.report_date,
            "revenue": row.revenue,
            "operating_profit": row.operating_profit,
            "net_profit": row.net_profit,
            "eps": row.eps,
            "bps": row.bps,
            "dps": row.dps,
            "roe": percent(row.net_profit, row.total_equity, annualise),
            "operating_margin": percent(row.operating_profit, row.revenue),
            "net_margin": percent(row.net_profit, row.revenue),
        }
        for row in rows
    ]
