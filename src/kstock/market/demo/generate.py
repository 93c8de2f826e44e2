"""The deterministic demo dataset: instruments, daily bars and financial statements that look like KRX data.

Determinism. Every random number comes from a numpy generator keyed by ``(seed, stream, [year])``, so the same
seed and end date give byte-identical rows (with the same numpy and ``holidays`` versions: numpy may change a
distribution's stream between releases, and a newly announced closure changes the calendar). Two further
properties keep the demo stable:

- Date-stable: daily numbers are drawn per calendar year with shape (stocks, trading days of that year), the
  price level is pinned at ``REFERENCE_DATE`` (where the large caps sit at their real 2026-03-20 levels) and the
  tick-and-limit pass always starts at ``SIM_EPOCH``. A date's bar therefore does not depend on the end date:
  tomorrow's demo is today's plus one day. This holds while the window starts on or after ``SIM_EPOCH``
  (``years`` <= 7 in 2026); longer windows start the pass at their own first day.
- Prefix-stable: per-stock numbers are drawn row by row, so the first N instruments (and their bars) are the
  same whatever ``stocks`` is.

Prices follow a factor model (market, sector, heavy-tailed Student-t idiosyncratic returns, per-stock volatility
and beta), are rounded to the KRX tick grid and clipped to the daily price limit of the previous close, so big
moves end as limit-up or limit-down days. Financial statements are scaled from a target PER and PBR at the
reference date, so PER, PBR, ROE and dividend yield computed from them and the prices are believable. Stocks
listed inside the window trade from their listing day; the end date must be on or after ``MIN_END_DATE``.

The load is one transaction: instruments, bars and statements through ``copy_rows``, then the indicators. Plain
indexes (and PostgreSQL's foreign keys) of ``daily_bars`` are rebuilt once after the bulk insert instead of being
maintained row by row, still before commit.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kstock.db.bulk import copy_rows
from kstock.errors import ConflictError
from kstock.kit.calendar import previous_trading_day, today_kst, trading_days
from kstock.kit.krx import price_limits_array, round_to_ticks
from kstock.market.demo.universe import REFERENCE_DATE, Floats, Ints, Universe, build_universe, rng, statement_rows
from kstock.market.indicators import recompute_indicators
from kstock.market.sectors import SECTORS

__all__ = ["REFERENCE_DATE", "DemoDataExistsError", "DemoSummary", "database_is_empty", "generate_demo"]

SIM_EPOCH: Final = dt.date(2019, 1, 2)
MIN_END_DATE: Final = dt.date(2023, 1, 2)

_MARKET_STREAM, _SECTOR_STREAM, _IDIO_STREAM, _BAR_STREAM, _LIQUIDITY_STREAM = range(21, 26)
_MARKET_VOL, _SECTOR_VOL = 0.009, 0.007
_TRADING_DAYS_PER_YEAR = 250
_BAR_CHUNK_STOCKS = 64
_MARKET_DATA_TABLES = ("stock_indicators", "financial_statements", "daily_bars", "instruments")
_INSTRUMENT_COLUMNS = tuple(
    "code isin name name_en market segment sector industry listing_date shares_outstanding settle_month status".split()
)
_BAR_COLUMNS = tuple("code trade_date open high low close volume trade_value".split())
_STATEMENT_COLUMNS = tuple(
    "code period_type fiscal_year fiscal_quarter report_date revenue operating_profit net_profit total_assets"
    " total_liabilities total_equity eps bps dps".split()
)


class DemoDataExistsError(ConflictError):
    """The database already holds market data and the caller did not ask to replace it."""

    code = "MARKET_DATA_EXISTS"
    default_message = "The database already holds market data; pass --replace to replace it with the demo dataset"

    @classmethod
    def for_count(cls, instruments: int) -> DemoDataExistsError:
        """The error for a database holding ``instruments`` instruments."""
        message = f"The database already holds market data ({instruments:,} instruments); pass --replace to replace it"
        return cls(message, {"instruments": instruments})


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``generate_demo`` wrote and how long it took."""

    instruments: int
    bars: int
    statements: int
    generate_seconds: float
    load_seconds: float
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    def as_table(self) -> Table:
        """The summary as a two-column rich table."""
        table = Table(title="demo dataset", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        table.add_row("instruments", f"{self.instruments:,}")
        table.add_row("daily bars", f"{self.bars:,}")
        table.add_row("financial statements", f"{self.statements:,}")
        if self.first_date and self.last_date:
            table.add_row("trading days", f"{self.first_date} .. {self.last_date}")
        table.add_row("generate", f"{self.generate_seconds:.2f} s")
        table.add_row("load", f"{self.load_seconds:.2f} s")
        rows = self.instruments + self.bars + self.statements
        total = self.generate_seconds + self.load_seconds
        table.add_row("rows/s", f"{rows / total:,.0f}" if total > 0 else "-")
        return table


@dataclass(frozen=True, slots=True)
class _Bars:
    """Everything the bars of the window are made from; open, high, low and volume are derived chunk by chunk."""

    days: list[dt.date]
    first: Ints  # per stock: index into ``days`` of its first bar (its listing day or the window start)
    prev_close: Ints  # (days, stocks)
    close: Ints
    noise: npt.NDArray[np.float32]  # (days, stocks, 4): open gap, high, low, volume
    liquidity: Floats  # (days,): market-wide volume swing

    @property
    def count(self) -> int:
        return int((len(self.days) - self.first).sum())


@dataclass(frozen=True, slots=True)
class _Dataset:
    universe: Universe
    bars: _Bars
    statements: list[tuple[Any, ...]]


def _year_slices(days: Sequence[dt.date]) -> Iterator[tuple[int, int, slice]]:
    """(year, trading days in that full year, slice of that year's days that fall in ``days``) per year."""
    for year in range(days[0].year, days[-1].year + 1):
        year_days = trading_days(dt.date(year, 1, 1), dt.date(year, 12, 31))
        start = bisect.bisect_left(year_days, days[0])
        stop = bisect.bisect_right(year_days, days[-1])
        yield year, len(year_days), slice(start, stop)


def _log_returns(universe: Universe, days: Sequence[dt.date], seed: int) -> Floats:
    """Daily log returns, shape (days, stocks): market + sector + Student-t idiosyncratic, clipped near the limit."""
    count, params = len(universe.codes), universe.params
    scale = np.sqrt((params.t_df - 2) / params.t_df)
    blocks: list[Floats] = []
    for year, size, part in _year_slices(days):
        market = rng(seed, _MARKET_STREAM, year).standard_t(5, size=size)[part] * _MARKET_VOL * np.sqrt(3 / 5)
        sectors = rng(seed, _SECTOR_STREAM, year).standard_normal((len(SECTORS), size))[:, part]
        idio = rng(seed, _IDIO_STREAM, year).standard_t(params.t_df[:, None], size=(count, size))[:, part]
        block = (
            (params.drift / _TRADING_DAYS_PER_YEAR)[:, None]
            + params.beta[:, None] * market[None, :]
            + _SECTOR_VOL * sectors[universe.sector_index]
            + (params.volatility * scale)[:, None] * idio
        )
        blocks.append(block.T)
    returns = np.concatenate(blocks, axis=0)
    # A little beyond the limit, so the tick-and-limit pass turns the largest moves into limit days.
    rate = np.where(universe.is_konex, 0.15, 0.30)
    clipped: Floats = np.clip(returns, np.log(0.95 - rate), np.log(1.05 + rate))
    return clipped


def _on_grid(prices: npt.NDArray[Any]) -> Ints:
    return round_to_ticks(np.rint(prices).astype(np.int64))


def _closes(universe: Universe, days: Sequence[dt.date], end_index: int, seed: int) -> Ints:
    """Closes on the tick grid, each inside the daily limit of the previous close, shape (end_index + 1, stocks)."""
    path = np.cumsum(_log_returns(universe, days, seed), axis=0)
    reference = days.index(REFERENCE_DATE)
    level = np.log(universe.params.ref_price)[None, :] + path[: end_index + 1] - path[reference][None, :]
    target = _on_grid(np.exp(np.clip(level, 0.0, np.log(5e7))))
    closes = target.copy()
    # A close leaves its target only when the target breaks the limit of the previous close. Above 100 KRW the
    # limit is at least 27% away (12% on KONEX), so only bigger moves, cheap prices and the day after a clipped
    # close need the exact check.
    rate = np.where(universe.is_konex, 0.15, 0.30)
    ratio = target[1:] / target[:-1]
    near_days, near_stocks = np.nonzero((ratio > 0.97 + rate) | (ratio < 1.03 - rate) | (target[:-1] < 100))
    bounds = np.searchsorted(near_days, np.arange(end_index + 1))
    carried = np.empty(0, dtype=np.int64)
    for day in range(1, end_index + 1):
        stocks = near_stocks[bounds[day - 1] : bounds[day]]
        if carried.size:
            stocks = np.union1d(stocks, carried)
        if not stocks.size:
            continue
        lower, upper = price_limits_array(closes[day - 1, stocks], universe.is_konex[stocks])
        closes[day, stocks] = np.clip(target[day, stocks], lower, upper)
        carried = stocks[closes[day, stocks] != target[day, stocks]]
    return closes


def _bars(universe: Universe, days: Sequence[dt.date], start: int, end: int, closes: Ints, seed: int) -> _Bars:
    """The inputs of the bars for the window ``days[start:end + 1]``."""
    window = days[start : end + 1]
    prev = closes[max(start - 1, 0) : end]
    if start == 0:
        prev = np.concatenate([closes[:1], prev])
    noise = np.concatenate(
        [
            rng(seed, _BAR_STREAM, year).standard_normal((len(universe.codes), size, 4), dtype=np.float32)[:, part]
            for year, size, part in _year_slices(window)
        ],
        axis=1,
    )
    liquidity = np.concatenate(
        [rng(seed, _LIQUIDITY_STREAM, year).standard_normal(size)[part] for year, size, part in _year_slices(window)]
    )
    listing = np.array([day.toordinal() for day in universe.listing_dates])
    first = np.searchsorted(np.array([day.toordinal() for day in window]), listing).astype(np.int64)
    close = closes[start : end + 1]
    return _Bars(list(window), first, prev, close, np.ascontiguousarray(noise.transpose(1, 0, 2)), liquidity)


def _ohlcv(universe: Universe, bars: _Bars, stocks: slice) -> list[Ints]:
    """Open, high, low, close, volume and trade value for some stocks: shape (days, stocks) each."""
    prev, close, noise = bars.prev_close[:, stocks], bars.close[:, stocks], bars.noise[:, stocks]
    lower, upper = price_limits_array(prev, universe.is_konex[None, stocks])
    params = universe.params
    sigma = np.sqrt((params.beta * _MARKET_VOL) ** 2 + _SECTOR_VOL**2 + params.volatility**2)[None, stocks]
    move = np.log(close / prev)

    def on_grid(prices: npt.NDArray[Any]) -> Ints:
        result: Ints = np.clip(_on_grid(prices), lower, upper)
        return result

    open_ = on_grid(prev * np.exp(0.35 * move + 0.35 * sigma * noise[..., 0]))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = np.maximum(on_grid(top * np.exp(0.5 * sigma * np.abs(noise[..., 1]))), top)
    low = np.minimum(on_grid(bottom * np.exp(-0.5 * sigma * np.abs(noise[..., 2]))), bottom)
    # Volume: lognormal around the stock's usual turnover, a market-wide liquidity swing, heavier on big moves.
    usual = (params.turnover * params.shares)[None, stocks] * np.exp(
        0.45 * noise[..., 3] + 0.2 * bars.liquidity[:, None]
    )
    volume = np.maximum(np.rint(usual * (1 + 0.6 * (np.abs(move) / sigma) ** 1.5)), 1).astype(np.int64)
    return [open_, high, low, close, volume, volume * (open_ + high + low + close) // 4]


def _window(end_date: dt.date | None, years: int) -> tuple[dt.date, dt.date]:
    """(first, last) trading day of the bars: ``years`` years ending at the end date (default: the last session)."""
    end = previous_trading_day(end_date) if end_date else previous_trading_day(today_kst(), inclusive=False)
    if end < MIN_END_DATE:
        raise ValueError(f"the demo dataset ends on or after {MIN_END_DATE}, not {end}")
    try:
        start = end.replace(year=end.year - years)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - years, day=28)
    return previous_trading_day(start), end  # on or before: at least ``years`` years of bars


def _build(stocks: int, years: int, seed: int, end_date: dt.date | None, progress: Progress | None) -> _Dataset:
    """Generate everything in memory (CPU-bound: runs in a worker thread)."""
    task = progress.add_task("generating demo data", total=4) if progress else None

    def step() -> None:
        if progress is not None and task is not None:
            progress.advance(task)

    start, end = _window(end_date, years)
    universe = build_universe(stocks, seed)
    step()
    sim_start = min(SIM_EPOCH, start)
    days = trading_days(sim_start, max(end, REFERENCE_DATE))
    end_index = days.index(end)
    closes = _closes(universe, days, end_index, seed)
    step()
    bars = _bars(universe, days, days.index(start), end_index, closes, seed)
    step()
    statements = statement_rows(universe, end.year - years - 1, end, seed)
    step()
    return _Dataset(universe, bars, statements)


def _bar_chunks(universe: Universe, bars: _Bars, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
    """Bar rows a few stocks at a time (their open, high, low and volume are computed here, chunk by chunk)."""
    # SQLite stores dates as ISO text (as SQLAlchemy does); asyncpg's COPY wants date objects.
    days: list[Any] = [day.isoformat() for day in bars.days] if sqlite else list(bars.days)
    for chunk in range(0, len(universe.codes), _BAR_CHUNK_STOCKS):
        part = slice(chunk, chunk + _BAR_CHUNK_STOCKS)
        columns = [matrix.T.tolist() for matrix in _ohlcv(universe, bars, part)]
        rows: list[tuple[Any, ...]] = []
        for offset, code in enumerate(universe.codes[part]):
            first = int(bars.first[chunk + offset])
            series = [column[offset][first:] for column in columns]
            rows.extend(zip([code] * len(series[0]), days[first:], *series, strict=True))
        yield rows


def _with_text_dates(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(value.isoformat() if isinstance(value, dt.date) else value for value in row) for row in rows]


async def _instrument_count(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT COUNT(*) FROM instruments"))).scalar_one())


async def database_is_empty(engine: AsyncEngine) -> bool:
    """True when the database holds no instruments (so the demo dataset may be loaded)."""
    async with engine.connect() as connection:
        return await _instrument_count(connection) == 0


_DEFERRABLE_SQLITE = (
    "SELECT 'DROP INDEX \"' || name || '\"', sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
)
_DEFERRABLE_POSTGRES = (
    "SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(i.oid) FROM pg_index x"
    " JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = CAST(:table AS regclass) AND NOT x.indisunique"
    " UNION ALL SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', CAST(:table AS text), conname),"
    " format('ALTER TABLE %I ADD CONSTRAINT %I %s', CAST(:table AS text), conname, pg_get_constraintdef(oid))"
    " FROM pg_constraint WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
)


@contextlib.asynccontextmanager
async def _checks_deferred(connection: AsyncConnection, table: str) -> AsyncIterator[None]:
    """Drop ``table``'s plain indexes (and foreign keys, on PostgreSQL) for a bulk load; restore them after it.

    Building an index once and checking a foreign key with one join is far cheaper than doing either row by row
    (for 3M bars: about 4 s saved on SQLite, 25 s on PostgreSQL). They are restored in the same transaction, before
    commit, so every row is still checked, and a failed load rolls the DDL back with the data. The table is locked
    until commit. Call this after the transaction has begun (SQLite's driver begins it on the first write).
    """
    if connection.dialect.name == "sqlite":
        driver: Any = (await connection.get_raw_connection()).driver_connection
        if not driver.in_transaction:  # the DDL would commit on its own, outside the rollback
            raise RuntimeError("defer checks only inside a transaction that has begun (after an insert)")
    query = _DEFERRABLE_POSTGRES if connection.dialect.name == "postgresql" else _DEFERRABLE_SQLITE
    statements = (await connection.execute(text(query), {"table": table})).all()
    for drop, _ in statements:
        await connection.execute(text(drop))
    yield
    for _, create in statements:
        await connection.execute(text(create))


async def _copy_bars(connection: AsyncConnection, data: _Dataset, sqlite: bool, advance: Callable[[int], None]) -> None:
    """Insert the bars a few stocks at a time, computing the next chunk in a thread while the database writes."""
    chunks = _bar_chunks(data.universe, data.bars, sqlite)
    writing: asyncio.Task[None] | None = None
    try:
        while (rows := await asyncio.to_thread(next, chunks, None)) is not None:
            if writing is not None:
                await writing
            writing = asyncio.create_task(copy_rows(connection, "daily_bars", _BAR_COLUMNS, rows))
            advance(len(rows))
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing


async def _load(engine: AsyncEngine, data: _Dataset, *, replace: bool, progress: Progress | None) -> None:
    sqlite = engine.dialect.name == "sqlite"
    universe = data.universe
    total = len(universe.codes) + data.bars.count + len(data.statements)
    task: TaskID | None = progress.add_task("loading demo data", total=total) if progress else None

    def advance(rows: int) -> None:
        if progress is not None and task is not None:
            progress.advance(task, rows)

    async with engine.begin() as connection:
        # This query also begins the transaction: copy_rows writes through the driver connection, which on
        # PostgreSQL would otherwise run outside it.
        existing = await _instrument_count(connection)
        if existing and not replace:
            raise DemoDataExistsError.for_count(existing)
        for table in _MARKET_DATA_TABLES if existing else ():
            await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        instruments = _with_text_dates(universe.instrument_rows) if sqlite else universe.instrument_rows
        await copy_rows(connection, "instruments", _INSTRUMENT_COLUMNS, instruments)
        advance(len(instruments))
        async with _checks_deferred(connection, "daily_bars"):
            await _copy_bars(connection, data, sqlite, advance)
        statements = _with_text_dates(data.statements) if sqlite else data.statements
        await copy_rows(connection, "financial_statements", _STATEMENT_COLUMNS, statements)
        advance(len(statements))
        await recompute_indicators(connection)


async def generate_demo(
    engine: AsyncEngine,
    *,
    stocks: int,
    years: int,
    seed: int,
    replace: bool,
    progress: Progress | None,
    end_date: dt.date | None = None,
) -> DemoSummary:
    """Generate the demo dataset (at least the real large caps) and load it in one transaction.

    Raises :class:`DemoDataExistsError` when the database already holds instruments, unless ``replace``.
    """
    if not (1 <= stocks <= 40_000 and years >= 1):
        raise ValueError("stocks must be between 1 and 40,000 and years at least 1")
    if not replace:
        async with engine.connect() as connection:
            # Fail before spending seconds on generation; the load checks again inside its transaction.
            if existing := await _instrument_count(connection):
                raise DemoDataExistsError.for_count(existing)
    started = time.perf_counter()
    data = await asyncio.to_thread(_build, stocks, years, seed, end_date, progress)
    generated = time.perf_counter()
    await _load(engine, data, replace=replace, progress=progress)
    loaded = time.perf_counter()
    return DemoSummary(
        instruments=len(data.universe.codes),
        bars=data.bars.count,
        statements=len(data.statements),
        generate_seconds=generated - started,
        load_seconds=loaded - generated,
        first_date=data.bars.days[0],
        last_date=data.bars.days[-1],
    )
