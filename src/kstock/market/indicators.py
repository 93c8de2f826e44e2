"""Derived figures per stock, rebuilt in ``stock_indicators`` after every load of bars, financials or shares.

Every definition is in docs/api/market-data.md; in short, with as_of the market's latest bar date:

- Latest bar: ``close_price``, ``volume``, ``trade_date`` of the stock's latest bar, ``prev_close`` the bar before
  it, ``turnover`` its traded value (else close x volume).
- From the stock's own bars since as_of - 400 days, as a stocks x bars matrix (latest bar in the last column):
  ``sma_20/60/120`` (mean of the last n closes, stored unrounded), ``rsi_14`` (Wilder), ``avg_volume_20d``,
  ``close_1m_ago``, ``close_3m_ago``, ``close_1y_ago`` (21, 63 and 252 bars back), and ``high_52w`` /
  ``low_52w`` over the bars of the 52 weeks (364 days, as_of included) ending at as_of. A stock whose latest bar is
  older than that window has its latest close, volume and turnover but no figure that needs a bar history
  (previous close, 52-week range, technicals, returns).
- From the statements reported by as_of: TTM revenue, operating and net profit and EPS (the latest four quarters
  if consecutive and all carry the figure, else the latest annual statement), the balance sheet of the latest
  statement, margins, ROE, ROA, debt ratio, year-on-year and three-year growth, and the annual ROE and operating
  margin stability used by the quality score.
- Price-dependent figures (PER, PBR, PSR, yield, market cap, returns, distance from the 52-week range and the
  moving averages) come from :func:`kstock.market.figures.price_dependent`, the function live ticks use too.
- Scores from :mod:`kstock.market.scores`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kstock.db.bulk import copy_rows
from kstock.kit.numbers import rounded_array
from kstock.market.figures import PRICE_BASE_COLUMNS, price_dependent
from kstock.market.scores import score_all
from kstock.market.versions import MARKET_DATA, bump_version

__all__ = ["BAR_WINDOW_DAYS", "INDICATOR_COLUMNS", "recompute_indicators"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

BAR_WINDOW_DAYS: Final = 400
_WEEKS_52_DAYS: Final = 364
_SMA_LENGTHS: Final = (20, 60, 120)
_RSI_LENGTH: Final = 14
_VOLUME_LENGTH: Final = 20
_LOOKBACKS: Final = (("close_1m_ago", 21), ("close_3m_ago", 63), ("close_1y_ago", 252))
_STATEMENT_YEARS: Final = 6
_STABILITY_YEARS: Final = 5
_STABILITY_MIN_YEARS: Final = 3

# Stored as BigInteger (the rest of the numeric columns are Float).
_INTEGER_COLUMNS: Final = frozenset(
    "close_price prev_close volume market_cap high_52w low_52w eps_ttm bps dps turnover avg_volume_20d revenue_ttm"
    " close_1m_ago close_3m_ago close_1y_ago".split()
)
INDICATOR_COLUMNS: Final = tuple(
    """code trade_date close_price prev_close change_pct volume turnover avg_volume_20d market_cap high_52w low_52w
    eps_ttm bps dps revenue_ttm per pbr psr roe roa operating_margin net_margin debt_ratio dividend_yield
    revenue_growth_yoy eps_growth_yoy revenue_growth_3y eps_growth_3y sma_20 sma_60 sma_120 rsi_14
    close_1m_ago close_3m_ago close_1y_ago return_1m return_3m return_1y pct_from_52w_high pct_from_52w_low
    price_vs_sma_20 price_vs_sma_60 price_vs_sma_120 quality_score value_score growth_score""".split()
)

# Positions in a statement row as read by ``_STATEMENTS_SQL``.
_PERIOD, _YEAR, _QUARTER = 1, 2, 3
_REVENUE, _OPERATING, _NET, _ASSETS, _LIABILITIES, _EQUITY, _EPS, _BPS, _DPS = range(4, 13)
_STATEMENTS_SQL: Final = (
    "SELECT code, period_type, fiscal_year, fiscal_quarter, revenue, operating_profit, net_profit, total_assets,"
    " total_liabilities, total_equity, eps, bps, dps FROM financial_statements"
    " WHERE report_date <= ? AND fiscal_year >= ? ORDER BY code, report_date DESC, fiscal_quarter DESC"
)
# Every bar of the window, one stock after the other: a primary-key range scan per instrument on SQLite.
_BARS_SQL: Final = (
    "SELECT code, trade_date, close, volume, trade_value FROM daily_bars"
    " WHERE code IN (SELECT code FROM instruments) AND trade_date >= ? ORDER BY code, trade_date"
)
_RANGE_52W_SQL: Final = (
    "SELECT code, MAX(high), MIN(low) FROM daily_bars"
    " WHERE code IN (SELECT code FROM instruments) AND trade_date >= ? GROUP BY code"
)
# Every instrument with the date of its latest bar (a primary-key probe each).
_INSTRUMENTS_SQL: Final = (
    "SELECT i.code, i.shares_outstanding, i.status,"
    " (SELECT MAX(b.trade_date) FROM daily_bars b WHERE b.code = i.code) FROM instruments i"
)
_LATEST_BAR_SQL: Final = (
    "SELECT code, trade_date, close, volume, trade_value FROM daily_bars WHERE code = ? AND trade_date = ?"
)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: hundreds of thousands of row tuples would trigger it for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _fetch(connection: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows straight from the driver (``?`` placeholders), skipping SQLAlchemy's per-row processing.

    Runs in the connection's transaction, which must have begun (any statement through SQLAlchemy begins it).
    Dates come back as ``datetime.date`` from PostgreSQL and as ISO text from SQLite.
    """
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        numbers = iter(range(1, len(params) + 1))
        sql = "".join(f"${next(numbers)}" if part == "?" else part for part in sql)
        return list(await driver.fetch(sql, *params))
    cursor = await driver.execute(sql, [p.isoformat() if isinstance(p, dt.date) else p for p in params])
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _floats(values: Sequence[Any]) -> Floats:
    """A float64 array from Python numbers, None as NaN."""
    return np.array(values, dtype=np.float64)


# --- bars -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bars:
    """Per-stock figures from the bars, one element per code (NaN = null)."""

    codes: list[str]
    trade_dates: list[Any]
    figures: dict[str, Floats]


def _wilder_rsi(closes: Floats, lengths: Ints) -> Floats:
    """Wilder's RSI over each row of a right-aligned closes matrix (NaN before a stock's first bar).

    The first average gain (loss) is the mean of the first 14 changes; each later one is (avg x 13 + current) / 14.
    RSI = 100 - 100 / (1 + avg_gain / avg_loss): 100 when avg_loss is 0 and avg_gain > 0, NaN when both are 0 or
    with fewer than 15 bars. Loops over columns, vectorised across stocks.
    """
    stocks, width = closes.shape
    rsi = np.full(stocks, np.nan)
    if width < _RSI_LENGTH + 1:
        return rsi
    changes = np.diff(closes, axis=1)  # column j: close[j + 1] - close[j]; NaN before a stock's second bar
    gains = np.maximum(changes, 0.0)
    losses = np.maximum(-changes, 0.0)
    # The change that completes the 14 of the seed, per stock (the first change is in column width - length).
    seed_col = width - lengths + _RSI_LENGTH - 1
    enough = lengths >= _RSI_LENGTH + 1
    if not enough.any():
        return rsi
    rows = np.flatnonzero(enough)
    cum_gain = np.cumsum(np.nan_to_num(gains[rows]), axis=1)  # exact: sums of integer price changes
    cum_loss = np.cumsum(np.nan_to_num(losses[rows]), axis=1)
    seed = seed_col[rows]
    index = np.arange(len(rows))
    seed_gain = cum_gain[index, seed] / _RSI_LENGTH
    seed_loss = cum_loss[index, seed] / _RSI_LENGTH
    avg_gain = np.full(len(rows), np.nan)
    avg_loss = np.full(len(rows), np.nan)
    gains, losses = gains[rows], losses[rows]
    for col in range(int(seed.min()), width - 1):
        starting = seed == col
        avg_gain = np.where(starting, seed_gain, (avg_gain * (_RSI_LENGTH - 1) + gains[:, col]) / _RSI_LENGTH)
        avg_loss = np.where(starting, seed_loss, (avg_loss * (_RSI_LENGTH - 1) + losses[:, col]) / _RSI_LENGTH)
    value = np.full(len(rows), np.nan)
    np.divide(100.0 * avg_gain, avg_gain + avg_loss, out=value, where=(avg_gain + avg_loss) > 0)
    # 100 - 100 / (1 + g / l) = 100 g / (g + l): the same value, and defined (100) when l == 0 < g.
    rsi[rows] = rounded_array(value, 2)
    return rsi


def _bar_figures(rows: list[Any], ranges: list[Any], stale: list[Any]) -> _Bars:
    """Figures from the window's bars (code, trade_date, close, volume, trade_value; by code, then date), the 52-week
    ranges (code, high, low) and the latest bars of stocks with none in the window (same columns as ``rows``)."""
    figures: dict[str, Floats] = {}
    codes: list[str] = []
    trade_dates: list[Any] = []
    if rows:
        code_col, date_col, close_col, volume_col, value_col = zip(*rows, strict=True)
        codes_array = np.array(code_col)
        starts = np.concatenate(([0], np.flatnonzero(codes_array[1:] != codes_array[:-1]) + 1))
        ends = np.append(starts[1:], len(rows))
        lengths: Ints = ends - starts
        codes = [str(code) for code in codes_array[starts]]
        trade_dates = [date_col[end - 1] for end in ends]
        stocks, width = len(codes), int(lengths.max())
        # Right-aligned matrices: column width - 1 is each stock's latest bar, padding (NaN) on the left.
        owner = np.repeat(np.arange(stocks), lengths)
        column = np.arange(len(rows)) - np.repeat(starts - (width - lengths), lengths)
        closes = np.full((stocks, width), np.nan)
        closes[owner, column] = _floats(close_col)
        volumes = np.full((stocks, width), np.nan)
        volumes[owner, column] = _floats(volume_col)

        close, volume = closes[:, -1], volumes[:, -1]
        value = _floats([value_col[end - 1] for end in ends])
        figures["close_price"] = close
        figures["volume"] = volume
        figures["turnover"] = np.where(np.isnan(value), close * volume, value)
        figures["prev_close"] = closes[:, -2] if width >= 2 else np.full(stocks, np.nan)
        by_code = {row[0]: (row[1], row[2]) for row in ranges}
        high_low = _floats([by_code.get(code, (None, None)) for code in codes]).reshape(stocks, 2)
        figures["high_52w"], figures["low_52w"] = high_low[:, 0], high_low[:, 1]

        for n in _SMA_LENGTHS:
            sma = np.full(stocks, np.nan)
            if width >= n:
                sma = np.where(lengths >= n, closes[:, -n:].mean(axis=1), np.nan)
            # Kept unrounded: price_vs_sma_n is computed from the exact mean, here and on live ticks; responses
            # show it rounded to 2 decimals (the field's ``decimals``).
            figures[f"sma_{n}"] = sma
        average_volume = np.full(stocks, np.nan)
        if width >= _VOLUME_LENGTH:
            average_volume = np.where(lengths >= _VOLUME_LENGTH, volumes[:, -_VOLUME_LENGTH:].mean(axis=1), np.nan)
        figures["avg_volume_20d"] = np.floor(average_volume + 0.5)  # rounded half up
        for name, back in _LOOKBACKS:
            figures[name] = closes[:, -1 - back] if width > back else np.full(stocks, np.nan)
        figures["rsi_14"] = _wilder_rsi(closes, lengths)

    if stale:
        # No bar in the window: the latest close, volume and turnover only.
        extra = len(stale)
        for name, array in list(figures.items()):
            figures[name] = np.concatenate((array, np.full(extra, np.nan)))
        s_code, s_date, s_close, s_volume, s_value = zip(*stale, strict=True)
        codes += list(s_code)
        trade_dates += list(s_date)
        close, volume, value = _floats(s_close), _floats(s_volume), _floats(s_value)
        tail = {"close_price": close, "volume": volume, "turnover": np.where(np.isnan(value), close * volume, value)}
        for name, array in tail.items():
            if name in figures:
                figures[name][-extra:] = array
            else:
                figures[name] = array
    return _Bars(codes=codes, trade_dates=trade_dates, figures=figures)


# --- statements -------------------------------------------------------------------------------------------------


def _previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def _consecutive(quarters: Sequence[Any], count: int) -> bool:
    """Whether the first ``count`` quarters (newest first) are ``count`` consecutive fiscal quarters."""
    if len(quarters) < count:
        return False
    for newer, older in zip(quarters[: count - 1], quarters[1:count], strict=True):
        if _previous_quarter(newer[_YEAR], newer[_QUARTER]) != (older[_YEAR], older[_QUARTER]):
            return False
    return True


def _sum_of(quarters: Sequence[Any], field: int) -> int | None:
    values = [q[field] for q in quarters]
    return None if any(v is None for v in values) else sum(values)


def _ratio(numerator: int | float | None, denominator: int | float | None, scale: float = 100.0) -> float:
    """numerator / denominator x scale; NaN when either is null or the denominator <= 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return float("nan")
    return float(numerator) / float(denominator) * scale


def _growth(now: int | None, before: int | None, *, signed_base: bool) -> float:
    """(now - before) / before x 100; with ``signed_base`` over |before| (defined for a negative base)."""
    if now is None or before is None or before == 0 or (before < 0 and not signed_base):
        return float("nan")
    return (now - before) / abs(before) * 100.0


def _cagr_3y(now: int | None, then: int | None) -> float:
    if now is None or then is None or now <= 0 or then <= 0:
        return float("nan")
    return float(((now / then) ** (1.0 / 3.0) - 1.0) * 100.0)


def _stability(values: list[float]) -> float:
    """Population standard deviation of the defined annual values, NaN with fewer than 3."""
    defined = [v for v in values if v == v]
    if len(defined) < _STABILITY_MIN_YEARS:
        return float("nan")
    return float(np.std(defined))


_FUNDAMENTAL_COLUMNS: Final = (
    "eps_ttm",
    "revenue_ttm",
    "bps",
    "dps",
    "roe",
    "roa",
    "operating_margin",
    "net_margin",
    "debt_ratio",
    "revenue_growth_yoy",
    "eps_growth_yoy",
    "revenue_growth_3y",
    "eps_growth_3y",
    "roe_stdev",
    "op_margin_stdev",
)
_NO_FUNDAMENTALS: Final = tuple(float("nan") for _ in _FUNDAMENTAL_COLUMNS)


def _fundamentals(statements: list[Any]) -> tuple[float, ...]:
    """One stock's fundamental figures (in ``_FUNDAMENTAL_COLUMNS`` order) from its statements, latest first.

    ``statements`` come by report date, newest first (an annual statement after the Q4 one of the same day).
    """
    quarters = sorted(
        (s for s in statements if s[_PERIOD] == "quarterly"), key=lambda s: (s[_YEAR], s[_QUARTER]), reverse=True
    )
    annuals = sorted((s for s in statements if s[_PERIOD] == "annual"), key=lambda s: s[_YEAR], reverse=True)
    latest_annual = annuals[0] if annuals else None
    by_year = {s[_YEAR]: s for s in annuals}
    four = _consecutive(quarters, 4)
    eight = _consecutive(quarters, 8)

    def ttm(field: int) -> int | None:
        if four and (total := _sum_of(quarters[:4], field)) is not None:
            return total
        return latest_annual[field] if latest_annual is not None else None

    def yoy(field: int, *, signed_base: bool) -> float:
        if eight:
            now, before = _sum_of(quarters[:4], field), _sum_of(quarters[4:8], field)
            if now is not None and before is not None:
                return _growth(now, before, signed_base=signed_base)
        if latest_annual is None or (previous := by_year.get(latest_annual[_YEAR] - 1)) is None:
            return float("nan")
        return _growth(latest_annual[field], previous[field], signed_base=signed_base)

    def cagr(field: int) -> float:
        if latest_annual is None or (then := by_year.get(latest_annual[_YEAR] - 3)) is None:
            return float("nan")
        return _cagr_3y(latest_annual[field], then[field])

    revenue, operating, net, eps = ttm(_REVENUE), ttm(_OPERATING), ttm(_NET), ttm(_EPS)
    latest = statements[0] if statements else None
    equity = latest[_EQUITY] if latest is not None else None
    recent = annuals[:_STABILITY_YEARS]
    return (
        float("nan") if eps is None else float(eps),
        float("nan") if revenue is None else float(revenue),
        float("nan") if latest is None or latest[_BPS] is None else float(latest[_BPS]),
        float("nan") if latest_annual is None or latest_annual[_DPS] is None else float(latest_annual[_DPS]),
        _ratio(net, equity),
        _ratio(net, latest[_ASSETS] if latest is not None else None),
        _ratio(operating, revenue),
        _ratio(net, revenue),
        _ratio(latest[_LIABILITIES] if latest is not None else None, equity),
        yoy(_REVENUE, signed_base=False),
        yoy(_EPS, signed_base=True),
        cagr(_REVENUE),
        cagr(_EPS),
        _stability([_ratio(s[_NET], s[_EQUITY]) for s in recent]),
        _stability([_ratio(s[_OPERATING], s[_REVENUE]) for s in recent]),
    )


def _fundamental_figures(codes: Sequence[str], statements: list[Any]) -> dict[str, Floats]:
    """Fundamental figures for ``codes`` from statements sorted by code (then newest report first)."""
    by_code: dict[str, list[Any]] = {}
    for statement in statements:
        by_code.setdefault(statement[0], []).append(statement)
    table = np.array(
        [_fundamentals(by_code[code]) if code in by_code else _NO_FUNDAMENTALS for code in codes], dtype=np.float64
    ).reshape(len(codes), len(_FUNDAMENTAL_COLUMNS))
    figures = {name: table[:, i] for i, name in enumerate(_FUNDAMENTAL_COLUMNS)}
    for name in _FUNDAMENTAL_COLUMNS:
        if name not in _INTEGER_COLUMNS:
            figures[name] = rounded_array(figures[name], 2)
    return figures


# --- the rebuild ------------------------------------------------------------------------------------------------


def _column_values(name: str, array: Floats) -> list[Any]:
    """A stored column as Python values: None for NaN, int for BigInteger columns."""
    if name in _INTEGER_COLUMNS:
        return [None if v != v else int(v) for v in array.tolist()]
    return [None if v != v else v for v in array.tolist()]


async def recompute_indicators(connection: AsyncConnection) -> int:
    """Rebuild ``stock_indicators`` for every stock with bars; returns the number of rows written."""
    as_of_value: dt.date | str | None = (
        await connection.execute(text("SELECT MAX(trade_date) FROM daily_bars"))
    ).scalar()
    if as_of_value is None:
        await connection.execute(text("DELETE FROM stock_indicators"))
        await bump_version(connection, MARKET_DATA)
        return 0
    as_of = _as_date(as_of_value)  # SQLite returns aggregates of dates as text
    window_start = as_of - dt.timedelta(days=BAR_WINDOW_DAYS)
    instruments = await _fetch(connection, _INSTRUMENTS_SQL, [])
    stale: list[Any] = []
    for code, _, _, latest in instruments:
        if latest is not None and _as_date(latest) < window_start:
            stale.extend(await _fetch(connection, _LATEST_BAR_SQL, [code, latest]))
    with _collector_paused():
        rows = await _fetch(connection, _BARS_SQL, [window_start])
        # 364 days ending at as_of, both ends included: as_of - 363 .. as_of.
        ranges = await _fetch(connection, _RANGE_52W_SQL, [as_of - dt.timedelta(days=_WEEKS_52_DAYS - 1)])
        bars = _bar_figures(rows, ranges, stale)
        del rows
        statements = await _fetch(connection, _STATEMENTS_SQL, [as_of, as_of.year - _STATEMENT_YEARS])
        fundamentals = _fundamental_figures(bars.codes, statements)
        del statements
    codes = bars.codes
    shares = {row[0]: row[1] for row in instruments}
    status = {row[0]: row[2] for row in instruments}

    figures = dict(bars.figures)
    figures["shares_outstanding"] = _floats([shares[code] for code in codes])
    figures.update(fundamentals)
    close = figures["close_price"]
    nan = np.full(len(codes), np.nan)
    base = {name: figures.get(name, nan) for name in PRICE_BASE_COLUMNS}
    figures.update(price_dependent(base, close))
    universe = np.array([status[code] != "delisted" for code in codes], dtype=np.bool_)
    figures.update(score_all(figures, universe))

    order = sorted(range(len(codes)), key=codes.__getitem__)
    postgres = connection.dialect.name == "postgresql"
    dates = [_as_date(d) if postgres else str(d) for d in bars.trade_dates]
    columns: list[list[Any]] = [[codes[i] for i in order], [dates[i] for i in order]]
    for name in INDICATOR_COLUMNS[2:]:
        values = _column_values(name, figures.get(name, nan))
        columns.append([values[i] for i in order])
    records = list(zip(*columns, strict=True))
    await connection.execute(text("DELETE FROM stock_indicators"))
    await copy_rows(connection, "stock_indicators", INDICATOR_COLUMNS, records)
    await bump_version(connection, MARKET_DATA)
    return len(records)
