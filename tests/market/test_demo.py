"""The demo dataset as a user sees it: real large caps, KRX-valid prices, believable fundamentals, determinism.

Price rules are restated here with plain integer arithmetic rather than taken from ``kstock.kit.krx``, so a bug
there cannot hide a bug in the data.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sqlite3
import statistics
from typing import Any, NamedTuple

import pytest
import pytest_asyncio
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kstock.db.bulk import copy_rows
from kstock.errors import ConflictError
from kstock.kit.calendar import previous_trading_day, today_kst, trading_days
from kstock.market.demo.generate import (
    REFERENCE_DATE,
    DemoDataExistsError,
    _checks_deferred,
    database_is_empty,
    generate_demo,
)
from kstock.market.sectors import SECTORS
from tests.support.databases import DEMO_STOCKS, DEMO_YEARS

# Real ISINs (KRX snapshot 2026-03-20), reference prices and share counts of the large caps.
LARGE_CAPS = {
    "005930": ("삼성전자", "KR7005930003", 199_400, 5_919_637_922),
    "000660": ("SK하이닉스", "KR7000660001", 1_007_000, 712_702_365),
    "005380": ("현대차", "KR7005380001", 517_000, 204_757_766),
    "035420": ("NAVER", "KR7035420009", 221_500, 156_852_638),
    "035720": ("카카오", "KR7035720002", 50_000, 442_766_428),
    "373220": ("LG에너지솔루션", "KR7373220003", 375_500, 234_000_000),
    "207940": ("삼성바이오로직스", "KR7207940008", 1_601_000, 46_290_951),
    "005490": ("POSCO홀딩스", "KR7005490008", 343_500, 80_932_952),
    "051910": ("LG화학", "KR7051910008", 310_000, 70_592_343),
    "006400": ("삼성SDI", "KR7006400006", 400_500, 80_585_530),
    "068270": ("셀트리온", "KR7068270008", 202_000, 231_048_261),
    "105560": ("KB금융", "KR7105560007", 155_200, 372_850_455),
}
SMALL_END = dt.date(2025, 6, 30)
QUARTER_ENDS = {1: dt.date(2000, 3, 31), 2: dt.date(2000, 6, 30), 3: dt.date(2000, 9, 30)}


class Bar(NamedTuple):
    trade_date: dt.date
    open: int
    high: int
    low: int
    close: int
    volume: int
    trade_value: int


def tick(price: int) -> int:
    for bound, size in ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500)):
        if price < bound:
            return size
    return 1_000


def limits(prev_close: int, pct: int) -> tuple[int, int]:
    """KRX daily limits: +-pct% of the previous close, the upper truncated down and the lower up to the tick."""
    move = prev_close * pct // 100
    upper = prev_close + move
    upper -= upper % tick(upper)
    lower = prev_close - move
    if lower % tick(lower):
        lower += tick(lower) - lower % tick(lower)
    return max(lower, 1), upper


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


async def fetch(connection: AsyncConnection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in (await connection.execute(text(sql))).all()]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def instruments(demo_engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    async with demo_engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM instruments ORDER BY code"))
        return {row["code"]: dict(row) for row in result.mappings()}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bars(demo_engine: AsyncEngine) -> dict[str, list[Bar]]:
    async with demo_engine.connect() as connection:
        rows = await fetch(
            connection,
            "SELECT code, trade_date, open, high, low, close, volume, trade_value FROM daily_bars"
            " ORDER BY code, trade_date",
        )
    by_code: dict[str, list[Bar]] = {}
    for code, day, *values in rows:
        by_code.setdefault(code, []).append(Bar(as_date(day), *values))
    return by_code


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def statements(demo_engine: AsyncEngine) -> list[dict[str, Any]]:
    async with demo_engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM financial_statements ORDER BY code, report_date"))
        return [dict(row) for row in result.mappings()]


def test_instruments_span_kospi_and_kosdaq(instruments: dict[str, dict[str, Any]]) -> None:
    assert len(instruments) == DEMO_STOCKS
    markets = [row["market"] for row in instruments.values()]
    assert set(markets) <= {"KOSPI", "KOSDAQ", "KONEX"}
    assert markets.count("KOSPI") >= 15
    assert markets.count("KOSDAQ") >= 15
    assert all(row["status"] == "active" for row in instruments.values())


def test_real_large_caps_are_present_under_their_codes(instruments: dict[str, dict[str, Any]]) -> None:
    for code, (name, isin, _, shares) in LARGE_CAPS.items():
        row = instruments[code]
        assert (row["name"], row["isin"], row["market"], row["shares_outstanding"]) == (name, isin, "KOSPI", shares)


def test_codes_isins_and_names_are_valid_and_unique(instruments: dict[str, dict[str, Any]]) -> None:
    rows = list(instruments.values())
    assert all(re.fullmatch(r"[0-9A-Z]{6}", row["code"]) for row in rows)
    assert all(row["code"].endswith("0") for row in rows)  # common shares
    assert all(re.fullmatch(rf"KR7{row['code']}00\d", row["isin"]) for row in rows)
    assert len({row["isin"] for row in rows}) == len(rows)
    names = [row["name"] for row in rows]
    assert len(set(names)) == len(names)
    synthetic = [row for row in rows if row["code"] not in LARGE_CAPS]
    assert all(re.search("[가-힣]", row["name"]) and row["name_en"] for row in synthetic)
    assert not {row["name"] for row in synthetic} & {name for name, *_ in LARGE_CAPS.values()}


def test_sectors_industries_and_listing(instruments: dict[str, dict[str, Any]], bars: dict[str, list[Bar]]) -> None:
    for code, row in instruments.items():
        assert row["industry"] in SECTORS[row["sector"]]
        assert row["shares_outstanding"] > 0
        assert as_date(row["listing_date"]) <= bars[code][0].trade_date
    assert len({row["sector"] for row in instruments.values()}) >= 8


def test_bars_on_every_trading_day_and_no_other(
    instruments: dict[str, dict[str, Any]], bars: dict[str, list[Bar]]
) -> None:
    last = previous_trading_day(today_kst(), inclusive=False)
    first = min(series[0].trade_date for series in bars.values())
    assert (last - first).days >= DEMO_YEARS * 365
    calendar = trading_days(first, last)
    assert set(bars) == set(instruments)
    for code, series in bars.items():
        start = max(first, as_date(instruments[code]["listing_date"]))
        assert [bar.trade_date for bar in series] == [day for day in calendar if day >= start], code


def test_every_price_is_on_the_tick_grid(bars: dict[str, list[Bar]]) -> None:
    for code, series in bars.items():
        for bar in series:
            for price in (bar.open, bar.high, bar.low, bar.close):
                assert price > 0, (code, bar)
                assert price % tick(price) == 0, (code, bar)


def test_every_price_is_inside_the_daily_limit(
    instruments: dict[str, dict[str, Any]], bars: dict[str, list[Bar]]
) -> None:
    for code, series in bars.items():
        pct = 15 if instruments[code]["market"] == "KONEX" else 30
        for prev, bar in zip(series, series[1:], strict=False):
            lower, upper = limits(prev.close, pct)
            assert lower <= bar.low, (code, prev.close, bar)
            assert bar.high <= upper, (code, prev.close, bar)


def test_ohlc_is_consistent_and_volume_positive(bars: dict[str, list[Bar]]) -> None:
    for series in bars.values():
        for bar in series:
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
            assert bar.volume > 0
            assert bar.low * bar.volume <= bar.trade_value <= bar.high * bar.volume


def test_returns_look_like_a_market(instruments: dict[str, dict[str, Any]], bars: dict[str, list[Bar]]) -> None:
    limit_days = 0
    returns: list[float] = []
    big_move_volume: list[float] = []
    usual_volume: list[float] = []
    for code, series in bars.items():
        pct = 15 if instruments[code]["market"] == "KONEX" else 30
        median_volume = statistics.median(bar.volume for bar in series)
        for prev, bar in zip(series, series[1:], strict=False):
            limit_days += bar.close in limits(prev.close, pct)
            move = bar.close / prev.close - 1
            returns.append(move)
            (big_move_volume if abs(move) >= 0.08 else usual_volume).append(bar.volume / median_volume)
    assert limit_days >= 1  # the occasional limit-up or limit-down day
    mean = statistics.fmean(returns)
    variance = statistics.fmean((r - mean) ** 2 for r in returns)
    kurtosis = statistics.fmean((r - mean) ** 4 for r in returns) / variance**2
    assert kurtosis > 5  # heavy tails; a normal distribution gives 3
    assert 0.01 < variance**0.5 < 0.05
    assert statistics.median(big_move_volume) > 2 * statistics.median(usual_volume)


def test_large_caps_trade_near_their_real_levels(bars: dict[str, list[Bar]]) -> None:
    for code, (_, _, reference_price, _) in LARGE_CAPS.items():
        close = next((bar.close for bar in bars[code] if bar.trade_date == REFERENCE_DATE), None)
        if close is None:
            pytest.skip("the reference date is outside the demo window")
        assert abs(close / reference_price - 1) < 0.1, code


def test_financial_statements_cover_the_years(
    instruments: dict[str, dict[str, Any]], bars: dict[str, list[Bar]], statements: list[dict[str, Any]]
) -> None:
    last = max(series[-1].trade_date for series in bars.values())
    assert {row["code"] for row in statements} == set(instruments)
    for code in instruments:
        rows = [row for row in statements if row["code"] == code]
        annual = sorted(row["fiscal_year"] for row in rows if row["period_type"] == "annual")
        quarters = {(row["fiscal_year"], row["fiscal_quarter"]) for row in rows if row["period_type"] == "quarterly"}
        assert len(annual) >= DEMO_YEARS
        assert annual == list(range(annual[0], annual[-1] + 1))
        assert all((year, quarter) in quarters for year in annual for quarter in (1, 2, 3, 4))
    for row in statements:
        report = as_date(row["report_date"])
        year, quarter = row["fiscal_year"], row["fiscal_quarter"]
        assert report <= last
        if row["period_type"] == "annual" or quarter == 4:
            assert report == dt.date(year, 12, 31) + dt.timedelta(days=90)
        else:
            assert report == QUARTER_ENDS[quarter].replace(year=year) + dt.timedelta(days=45)
        assert (row["period_type"] == "annual") == (quarter == 0) == (row["dps"] is not None)
        shares = instruments[row["code"]]["shares_outstanding"]
        assert abs(row["eps"] * shares - row["net_profit"]) <= shares
        assert abs(row["bps"] * shares - row["total_equity"]) <= shares
        assert abs(row["total_assets"] - row["total_liabilities"] - row["total_equity"]) <= 1
        assert row["revenue"] > 0
        assert row["total_equity"] > 0


def test_revenue_grows_with_noise(statements: list[dict[str, Any]]) -> None:
    revenue = {(r["code"], r["fiscal_year"]): r["revenue"] for r in statements if r["period_type"] == "annual"}
    growth = [
        value / revenue[code, year - 1] - 1 for (code, year), value in revenue.items() if (code, year - 1) in revenue
    ]
    assert -0.05 < statistics.median(growth) < 0.25
    assert statistics.stdev(growth) > 0.03


async def test_indicators_are_believable(demo_engine: AsyncEngine) -> None:
    async with demo_engine.connect() as connection:
        rows = await fetch(connection, "SELECT per, pbr, roe, dividend_yield, eps_ttm FROM stock_indicators")
    assert len(rows) == DEMO_STOCKS
    per, pbr, roe, dividend_yield, eps = (
        [value for value in column if value is not None] for column in zip(*rows, strict=True)
    )
    assert 6 < statistics.median(per) < 30
    assert 0.4 < statistics.median(pbr) < 3
    assert 2 < statistics.median(roe) < 20
    assert 0.2 < statistics.median(dividend_yield) < 5
    assert max(dividend_yield) < 15
    assert 1 <= sum(value < 0 for value in eps) <= DEMO_STOCKS // 3  # some loss-makers


async def _dump(engine: AsyncEngine) -> list[list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return [
            await fetch(connection, "SELECT code, isin, name, name_en, market, segment, sector, industry, listing_date,"
                        " shares_outstanding, settle_month, status FROM instruments ORDER BY code"),
            await fetch(connection, "SELECT * FROM daily_bars ORDER BY code, trade_date"),
            await fetch(connection, "SELECT code, period_type, fiscal_year, fiscal_quarter, report_date, revenue,"
                        " operating_profit, net_profit, total_assets, total_liabilities, total_equity, eps, bps, dps"
                        " FROM financial_statements ORDER BY code, period_type, fiscal_year, fiscal_quarter"),
        ]  # fmt: skip


async def _small_demo(
    engine: AsyncEngine, seed: int, *, stocks: int = 15, years: int = 1, end: dt.date = SMALL_END
) -> None:
    await generate_demo(engine, stocks=stocks, years=years, seed=seed, replace=True, progress=None, end_date=end)


async def test_same_seed_gives_identical_rows(clean_engine: AsyncEngine) -> None:
    await _small_demo(clean_engine, 11)
    first = await _dump(clean_engine)
    await _small_demo(clean_engine, 11)
    assert await _dump(clean_engine) == first
    await _small_demo(clean_engine, 12)
    other = await _dump(clean_engine)
    assert other[1] != first[1]
    assert other[2] != first[2]
    assert [row[2] for row in other[0]] != [row[2] for row in first[0]]  # other names


async def test_a_day_does_not_depend_on_the_end_date_or_stock_count(clean_engine: AsyncEngine) -> None:
    await _small_demo(clean_engine, 5, stocks=15, years=1, end=SMALL_END)
    instruments, bars, statements = await _dump(clean_engine)
    await _small_demo(clean_engine, 5, stocks=25, years=2, end=dt.date(2025, 9, 30))
    more_instruments, more_bars, more_statements = await _dump(clean_engine)
    assert set(instruments) < set(more_instruments)
    assert set(bars) < set(more_bars)
    assert set(statements) < set(more_statements)


async def _daily_bars_schema(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """The indexes and foreign keys of daily_bars, to check that a load leaves them as it found them."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return await fetch(
                connection,
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'daily_bars'"
                ' UNION ALL SELECT "table", "from" || \' \' || "to" || \' \' || on_delete'
                " FROM pragma_foreign_key_list('daily_bars') ORDER BY 1",
            )
        return await fetch(
            connection,
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'daily_bars'"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST('daily_bars' AS regclass) AND contype = 'f' ORDER BY 1",
        )


async def test_existing_data_needs_replace(clean_engine: AsyncEngine) -> None:
    schema = await _daily_bars_schema(clean_engine)
    assert any("trade_date" in str(row) for row in schema)
    assert any("instruments" in str(row) for row in schema)  # the foreign key
    assert await database_is_empty(clean_engine)
    await generate_demo(clean_engine, stocks=12, years=1, seed=1, replace=False, progress=None, end_date=SMALL_END)
    assert not await database_is_empty(clean_engine)
    before = await _dump(clean_engine)
    with pytest.raises(DemoDataExistsError, match="--replace") as raised:
        await generate_demo(clean_engine, stocks=20, years=1, seed=2, replace=False, progress=None)
    assert isinstance(raised.value, ConflictError)
    assert raised.value.status == 409
    assert await _dump(clean_engine) == before
    summary = await generate_demo(clean_engine, stocks=20, years=1, seed=2, replace=True, progress=None)
    after = await _dump(clean_engine)
    assert (summary.instruments, summary.bars, summary.statements) == tuple(len(table) for table in after)
    assert len(after[0]) == 20
    async with clean_engine.connect() as connection:
        assert await fetch(connection, "SELECT COUNT(*) FROM stock_indicators") == [(20,)]
    assert await _daily_bars_schema(clean_engine) == schema


async def _load_with_checks_deferred(engine: AsyncEngine, bar_code: str | None) -> None:
    """Mimic the load: begin, insert an instrument, defer the checks, then insert a bar or fail."""
    async with engine.begin() as connection:
        # As in the load: a statement through SQLAlchemy first, because on PostgreSQL copy_rows uses the driver
        # connection directly and would run outside a transaction that has not begun yet.
        await connection.execute(text("SELECT COUNT(*) FROM instruments"))
        await copy_rows(
            connection, "instruments", ("code", "name", "market", "status"), [("000010", "x", "KOSPI", "active")]
        )
        async with _checks_deferred(connection, "daily_bars"):
            if bar_code is None:
                raise RuntimeError("load failed")
            day = SMALL_END if engine.dialect.name == "postgresql" else SMALL_END.isoformat()
            columns = ("code", "trade_date", "open", "high", "low", "close", "volume")
            await copy_rows(connection, "daily_bars", columns, [(bar_code, day, 100, 100, 100, 100, 1)])


async def test_a_failed_load_restores_indexes_and_foreign_keys(clean_engine: AsyncEngine) -> None:
    schema = await _daily_bars_schema(clean_engine)
    with pytest.raises(RuntimeError, match="load failed"):
        await _load_with_checks_deferred(clean_engine, None)
    assert await _daily_bars_schema(clean_engine) == schema
    assert await database_is_empty(clean_engine)


async def test_deferred_checks_still_reject_bad_rows(clean_engine: AsyncEngine) -> None:
    schema = await _daily_bars_schema(clean_engine)
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)):
        await _load_with_checks_deferred(clean_engine, "999990")  # no such instrument
    assert await _daily_bars_schema(clean_engine) == schema
    assert await database_is_empty(clean_engine)
    await _load_with_checks_deferred(clean_engine, "000010")
    assert await _daily_bars_schema(clean_engine) == schema


async def test_deferring_checks_outside_a_transaction_is_refused(clean_engine: AsyncEngine) -> None:
    if clean_engine.dialect.name != "sqlite":
        pytest.skip("only SQLite's driver begins transactions lazily on the first write")
    async with clean_engine.begin() as connection:
        with pytest.raises(RuntimeError, match="transaction"):
            async with _checks_deferred(connection, "daily_bars"):
                pass


async def test_progress_and_summary(clean_engine: AsyncEngine) -> None:
    output = io.StringIO()
    with Progress(console=Console(file=output, width=100)) as progress:
        summary = await generate_demo(
            clean_engine, stocks=12, years=1, seed=3, replace=False, progress=progress, end_date=SMALL_END
        )
    assert [task.finished for task in progress.tasks] == [True, True]
    assert summary.last_date == SMALL_END
    assert summary.instruments == 12
    console = Console(file=io.StringIO(), width=100)
    console.print(summary.as_table())
    assert "instruments" in console.file.getvalue()  # type: ignore[attr-defined]


async def test_rejects_end_dates_before_the_supported_range(clean_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="2023-01-02"):
        await generate_demo(
            clean_engine, stocks=12, years=1, seed=1, replace=False, progress=None, end_date=dt.date(2020, 1, 31)
        )
    assert await database_is_empty(clean_engine)
