"""Derived indicators per stock (PER, PBR, ROE, dividend yield, market cap, 52-week range).

Definitions (also in docs/api/market-data.md):

- ``close_price``, ``volume``, ``trade_date``: the stock's latest daily bar; ``change_pct`` against the bar before.
- ``eps_ttm``: the sum of the four latest quarterly EPS reported by the as-of date, else the latest annual EPS.
- ``per`` = close / eps_ttm, null when EPS is zero or negative (a loss-maker has no meaningful PER).
- ``bps``: the latest reported book value per share; ``pbr`` = close / bps, null when bps <= 0.
- ``roe`` = trailing-twelve-month net profit / latest equity x 100 (annual net profit / equity as fallback).
- ``dividend_yield`` = latest annual DPS / close x 100.
- ``market_cap`` = close x shares outstanding (KRW).
- ``high_52w`` / ``low_52w``: highest high and lowest low over the 52 weeks ending at the market's latest date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kstock.db.bulk import copy_rows
from kstock.market.versions import MARKET_DATA, bump_version

_COLUMNS = (
    "code",
    "trade_date",
    "close_price",
    "prev_close",
    "change_pct",
    "volume",
    "market_cap",
    "high_52w",
    "low_52w",
    "eps_ttm",
    "bps",
    "dps",
    "per",
    "pbr",
    "roe",
    "dividend_yield",
)


@dataclass(slots=True)
class _Fundamentals:
    eps_ttm: int | None = None
    net_profit_ttm: int | None = None
    bps: int | None = None
    equity: int | None = None
    dps: int | None = None


def _pct_change(close: int, prev_close: int | None) -> float | None:
    if not prev_close:
        return None
    return round((close - prev_close) / prev_close * 100, 2)


def _fundamentals(statements: list[Any]) -> _Fundamentals:
    """Trailing figures from one stock's statements, newest first."""
    result = _Fundamentals()
    quarters = [s for s in statements if s.period_type == "quarterly"]
    annuals = [s for s in statements if s.period_type == "annual"]
    last4 = quarters[:4]
    if len(last4) == 4 and all(q.eps is not None for q in last4):
        result.eps_ttm = sum(q.eps for q in last4)
        if all(q.net_profit is not None for q in last4):
            result.net_profit_ttm = sum(q.net_profit for q in last4)
    elif annuals:
        result.eps_ttm = annuals[0].eps
        result.net_profit_ttm = annuals[0].net_profit
    latest = statements[0] if statements else None
    if latest is not None:
        result.bps = latest.bps
        result.equity = latest.total_equity
    if annuals:
        result.dps = annuals[0].dps
    return result


def _ratio(numerator: int | None, denominator: int | None, scale: float = 1.0) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator * scale, 2)


async def recompute_indicators(connection: AsyncConnection) -> int:
    """Rebuild ``stock_indicators`` for every stock with bars; returns the number of rows written."""
    as_of: dt.date | None = (await connection.execute(text("SELECT MAX(trade_date) FROM daily_bars"))).scalar()
    if as_of is None:
        await connection.execute(text("DELETE FROM stock_indicators"))
        await bump_version(connection, MARKET_DATA)
        return 0
    if isinstance(as_of, str):  # SQLite returns aggregates of dates as text
        as_of = dt.date.fromisoformat(as_of)
    cutoff = as_of - dt.timedelta(days=364)
    # The window query reads one year of bars; stocks without a bar in that year are looked up one by one.
    latest_rows = (
        await connection.execute(
            text(
                "SELECT code, trade_date, close, volume, prev_close, hi, lo FROM ("
                " SELECT code, trade_date, close, volume,"
                "  LAG(close) OVER (PARTITION BY code ORDER BY trade_date) AS prev_close,"
                "  MAX(high) OVER (PARTITION BY code) AS hi, MIN(low) OVER (PARTITION BY code) AS lo,"
                "  ROW_NUMBER() OVER (PARTITION BY code ORDER BY trade_date DESC) AS rn"
                " FROM daily_bars WHERE trade_date >= :cutoff) t WHERE rn = 1"
            ),
            {"cutoff": cutoff},
        )
    ).all()
    latest: dict[str, tuple[Any, ...]] = {row.code: tuple(row) for row in latest_rows}
    stale = (
        await connection.execute(
            text(
                "SELECT b.code, b.trade_date, b.close, b.volume FROM daily_bars b"
                " JOIN (SELECT code, MAX(trade_date) AS d FROM daily_bars GROUP BY code) m"
                "  ON m.code = b.code AND m.d = b.trade_date WHERE b.trade_date < :cutoff"
            ),
            {"cutoff": cutoff},
        )
    ).all()
    for row in stale:
        latest[row.code] = (row.code, row.trade_date, row.close, row.volume, None, None, None)

    share_rows = await connection.execute(text("SELECT code, shares_outstanding FROM instruments"))
    shares: dict[str, int | None] = {row.code: row.shares_outstanding for row in share_rows}
    statements = (
        await connection.execute(
            text(
                "SELECT code, period_type, eps, net_profit, bps, total_equity, dps FROM financial_statements"
                " WHERE report_date <= :as_of AND fiscal_year >= :min_year"
                " ORDER BY code, report_date DESC, fiscal_quarter DESC"
            ),
            {"as_of": as_of, "min_year": as_of.year - 3},
        )
    ).all()
    by_code: dict[str, list[Any]] = {}
    for statement in statements:
        by_code.setdefault(statement.code, []).append(statement)

    rows: list[tuple[Any, ...]] = []
    for code, (_, trade_date, close, volume, prev_close, high_52w, low_52w) in latest.items():
        if isinstance(trade_date, str):
            trade_date = dt.date.fromisoformat(trade_date)
        fundamentals = _fundamentals(by_code.get(code, []))
        share_count = shares.get(code)
        eps = fundamentals.eps_ttm
        rows.append(
            (
                code,
                trade_date,
                close,
                prev_close,
                _pct_change(close, prev_close),
                volume,
                close * share_count if share_count else None,
                high_52w,
                low_52w,
                eps,
                fundamentals.bps,
                fundamentals.dps,
                _ratio(close, eps),
                _ratio(close, fundamentals.bps),
                _ratio(fundamentals.net_profit_ttm, fundamentals.equity, 100.0)
                if fundamentals.net_profit_ttm is not None
                else None,
                _ratio(fundamentals.dps, close, 100.0) if fundamentals.dps is not None else None,
            )
        )
    await connection.execute(text("DELETE FROM stock_indicators"))
    rows.sort(key=lambda r: r[0])
    await copy_rows(connection, "stock_indicators", _COLUMNS, rows)
    await bump_version(connection, MARKET_DATA)
    return len(rows)
