"""Every figure of ``stock_indicators`` on a small hand-made market, each checked against a hand-computed value.

The market's latest date (as_of) is 2025-06-30. Bars are on consecutive calendar days unless said otherwise (the
code does not care about the calendar: each stock's own bars count). Bars have open = close, high = close + 50
and low = close - 50 unless said otherwise. Amounts in statements are in billions of KRW (``B``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import insert, text

from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.figures import PRICE_BASE_COLUMNS, PRICE_DEPENDENT_COLUMNS, price_dependent
from kstock.market.indicators import INDICATOR_COLUMNS, recompute_indicators
from kstock.market.models import DailyBar, FinancialStatement, Instrument
from tests.support.databases import DatabaseFactory

AS_OF = dt.date(2025, 6, 30)
B = 1_000_000_000
NAN = math.nan
RISER, LOSER, PARTIAL, FLAT, SPARSE, STALE = "100010", "100020", "100030", "100040", "100050", "100060"


def bar(
    code: str, day: dt.date, close: int, volume: int, trade_value: int | None = None, spread: int = 50
) -> dict[str, Any]:
    return {
        "code": code,
        "trade_date": day,
        "open": close,
        "high": close + spread,
        "low": close - spread,
        "close": close,
        "volume": volume,
        "trade_value": trade_value,
    }


def daily(
    code: str, closes: list[int], volumes: list[int], last_trade_value: int | None = None
) -> list[dict[str, Any]]:
    """Bars on consecutive days ending at AS_OF; the last one may carry a traded value."""
    count = len(closes)
    return [
        bar(code, AS_OF - dt.timedelta(days=count - 1 - i), c, v, last_trade_value if i == count - 1 else None)
        for i, (c, v) in enumerate(zip(closes, volumes, strict=True))
    ]


STATEMENT_FIELDS = "revenue operating_profit net_profit total_assets total_liabilities total_equity eps bps dps".split()


def statement(code: str, year: int, quarter: int, **figures: int | None) -> dict[str, Any]:
    """Quarters are reported 45 days after their end (Q4 with the annual statement, 90 days after the year)."""
    if quarter in (0, 4):
        report = dt.date(year + 1, 3, 31)
    else:
        report = dt.date(year, quarter * 3, 28) + dt.timedelta(days=45)
    return {
        "code": code,
        "period_type": "annual" if quarter == 0 else "quarterly",
        "fiscal_year": year,
        "fiscal_quarter": quarter,
        "report_date": report,
        **{field: figures.get(field) for field in STATEMENT_FIELDS},
    }


def instrument(code: str, shares: int | None, status: str = "active") -> dict[str, Any]:
    return {"code": code, "name": f"종목{code}", "market": "KOSDAQ", "shares_outstanding": shares, "status": status}


# RISER: 300 bars, close_i = 10,000 + 10 i (i = 0..299), volume_i = 1,000 + i; the latest close is 12,990.
RISER_BARS = daily(RISER, [10_000 + 10 * i for i in range(300)], [1_000 + i for i in range(300)])
# Eight consecutive quarters 2023Q2..2025Q1 (2025Q2 is reported on 2025-08-12, after as_of, and must not count),
# five annual statements 2020..2024.
RISER_STATEMENTS = [
    *(
        statement(RISER, year, quarter, revenue=100 * B, operating_profit=8 * B, net_profit=5 * B, eps=50)
        for year, quarter in ((2023, 2), (2023, 3), (2023, 4), (2024, 1))
    ),
    statement(RISER, 2024, 2, revenue=110 * B, operating_profit=11 * B, net_profit=10 * B, eps=100),
    statement(RISER, 2024, 3, revenue=120 * B, operating_profit=12 * B, net_profit=10_500_000_000, eps=105),
    statement(RISER, 2024, 4, revenue=130 * B, operating_profit=13 * B, net_profit=11 * B, eps=110),
    statement(
        RISER,
        2025,
        1,
        revenue=140 * B,
        operating_profit=14 * B,
        net_profit=11_800_000_000,
        total_assets=866 * B,
        total_liabilities=366 * B,
        total_equity=500 * B,
        eps=118,
        bps=5_000,
    ),
    statement(RISER, 2025, 2, revenue=999 * B, operating_profit=99 * B, net_profit=99 * B, eps=990, bps=9_990),
    # Annual ROE 10, 12, 8, 10, 10 (%), operating margin 10 % every year.
    statement(
        RISER, 2020, 0, revenue=200 * B, operating_profit=20 * B, net_profit=20 * B, total_equity=200 * B, eps=100
    ),
    statement(
        RISER, 2021, 0, revenue=250 * B, operating_profit=25 * B, net_profit=24 * B, total_equity=200 * B, eps=125
    ),
    statement(
        RISER, 2022, 0, revenue=300 * B, operating_profit=30 * B, net_profit=20 * B, total_equity=250 * B, eps=200
    ),
    statement(
        RISER, 2023, 0, revenue=350 * B, operating_profit=35 * B, net_profit=30 * B, total_equity=300 * B, eps=300
    ),
    statement(
        RISER,
        2024,
        0,
        revenue=432 * B,
        operating_profit=43_200_000_000,
        net_profit=40 * B,
        total_equity=400 * B,
        eps=343,
        bps=4_000,
        dps=260,
    ),
]

# LOSER: 16 bars; 14 changes +20, -10 alternating, then +34.
LOSER_CLOSES = [5_000]
for step in [20, -10] * 7 + [34]:
    LOSER_CLOSES.append(LOSER_CLOSES[-1] + step)
LOSER_BARS = daily(LOSER, LOSER_CLOSES, [100] * 16, last_trade_value=5_000_000_000)
# Quarters 2024Q1..Q3 and 2025Q1: 2024Q4 is missing, so the TTM figures come from the 2024 annual statement.
LOSER_STATEMENTS = [
    statement(LOSER, 2024, 1, revenue=30 * B, operating_profit=1 * B, net_profit=1 * B, eps=50),
    statement(LOSER, 2024, 2, revenue=30 * B, operating_profit=1 * B, net_profit=1 * B, eps=50),
    statement(LOSER, 2024, 3, revenue=30 * B, operating_profit=1 * B, net_profit=1 * B, eps=50),
    statement(
        LOSER,
        2025,
        1,
        revenue=30 * B,
        operating_profit=1 * B,
        net_profit=1 * B,
        total_assets=50 * B,
        total_liabilities=50 * B,
        total_equity=0,
        eps=50,
        bps=0,
    ),
    statement(LOSER, 2021, 0, revenue=80 * B, operating_profit=2 * B, net_profit=1 * B, eps=100),
    statement(LOSER, 2023, 0, revenue=120 * B, operating_profit=1 * B, net_profit=-5 * B, eps=-250),
    statement(LOSER, 2024, 0, revenue=100 * B, operating_profit=-5 * B, net_profit=-10 * B, eps=-500, dps=0),
]

# PARTIAL: 14 bars, close_i = 1,000 + 10 i; no shares on file.
PARTIAL_BARS = daily(PARTIAL, [1_000 + 10 * i for i in range(14)], [10] * 14)
# Four consecutive quarters, but 2024Q3 has no revenue: revenue falls back to the annual statement, the rest not.
PARTIAL_STATEMENTS = [
    statement(PARTIAL, 2024, 2, revenue=10 * B, operating_profit=1 * B, net_profit=500_000_000, eps=10),
    statement(PARTIAL, 2024, 3, revenue=None, operating_profit=1 * B, net_profit=500_000_000, eps=20),
    statement(PARTIAL, 2024, 4, revenue=10 * B, operating_profit=1 * B, net_profit=500_000_000, eps=30),
    statement(
        PARTIAL,
        2025,
        1,
        revenue=10 * B,
        operating_profit=1 * B,
        net_profit=500_000_000,
        total_assets=30 * B,
        total_liabilities=10 * B,
        total_equity=20 * B,
        eps=40,
        bps=2_500,
    ),
    statement(PARTIAL, 2023, 0, revenue=40 * B, eps=80),
    statement(PARTIAL, 2024, 0, revenue=45 * B, eps=90, dps=None),
]

# FLAT: 20 bars at 2,000, volume 500.
FLAT_BARS = daily(FLAT, [2_000] * 20, [500] * 20)
FLAT_STATEMENTS = [
    statement(FLAT, 2023, 0, revenue=0, operating_profit=0, net_profit=0, eps=0),
    statement(
        FLAT,
        2024,
        0,
        revenue=0,
        operating_profit=0,
        net_profit=1 * B,
        total_assets=15 * B,
        total_liabilities=5 * B,
        total_equity=10 * B,
        eps=10,
        bps=1_000,
    ),
]

# SPARSE: 20 bars 30 days apart (k = 0 is the latest, at as_of), close_k = 3,000 + 100 k, high/low = close +- 10.
SPARSE_BARS = [bar(SPARSE, AS_OF - dt.timedelta(days=30 * k), 3_000 + 100 * k, 7, spread=10) for k in range(20)]

# STALE: three bars ending 500 days before as_of, outside the 400-day window.
STALE_BARS = [bar(STALE, AS_OF - dt.timedelta(days=502 - k), 700 + k, 9, spread=5) for k in range(3)]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def indicators(db_factory: DatabaseFactory) -> dict[str, dict[str, Any]]:
    """The hand-made market loaded and its indicators computed: code -> row of stock_indicators."""
    engine = create_engine(await db_factory.settings("indicators"))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                insert(Instrument),
                [
                    instrument(RISER, 100_000_000),
                    instrument(LOSER, 10_000_000),
                    instrument(PARTIAL, None),
                    instrument(FLAT, 1_000_000),
                    instrument(SPARSE, 1_000),
                    instrument(STALE, 1_000, "delisted"),
                ],
            )
            await connection.execute(
                insert(DailyBar), RISER_BARS + LOSER_BARS + PARTIAL_BARS + FLAT_BARS + SPARSE_BARS + STALE_BARS
            )
            await connection.execute(
                insert(FinancialStatement), RISER_STATEMENTS + LOSER_STATEMENTS + PARTIAL_STATEMENTS + FLAT_STATEMENTS
            )
            assert await recompute_indicators(connection) == 6
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT * FROM stock_indicators ORDER BY code"))
            return {row["code"]: dict(row) for row in result.mappings()}
    finally:
        await engine.dispose()


def check(row: dict[str, Any], expected: dict[str, Any]) -> None:
    actual = {name: row[name] for name in expected}
    if "trade_date" in actual and isinstance(actual["trade_date"], str):
        actual["trade_date"] = dt.date.fromisoformat(actual["trade_date"])
    assert actual == expected


def test_every_column_is_stored(indicators: dict[str, dict[str, Any]]) -> None:
    assert set(indicators) == {RISER, LOSER, PARTIAL, FLAT, SPARSE, STALE}
    assert set(INDICATOR_COLUMNS) <= set(indicators[RISER])


def test_technicals_of_a_steady_riser(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[RISER],
        {
            "trade_date": AS_OF,
            "close_price": 12_990,  # 10,000 + 10 x 299
            "prev_close": 12_980,
            "change_pct": 0.08,  # 10 / 12,980 x 100 = 0.0770
            "volume": 1_299,
            "turnover": 16_874_010,  # no traded value on the bar: 12,990 x 1,299
            "avg_volume_20d": 1_290,  # mean of 1,280..1,299 = 1,289.5, rounded half up
            "high_52w": 13_040,  # every bar is inside the 52 weeks: 12,990 + 50
            "low_52w": 9_950,  # 10,000 - 50
            "sma_20": 12_895.0,  # 10,000 + 10 x mean(280..299) = 10,000 + 10 x 289.5
            "sma_60": 12_695.0,  # 10,000 + 10 x mean(240..299) = 10,000 + 10 x 269.5
            "sma_120": 12_395.0,  # 10,000 + 10 x mean(180..299) = 10,000 + 10 x 239.5
            "rsi_14": 100.0,  # gains only: avg_loss = 0 < avg_gain
            "close_1m_ago": 12_780,  # 21 bars back: i = 278
            "close_3m_ago": 12_360,  # 63 bars back: i = 236
            "close_1y_ago": 10_470,  # 252 bars back: i = 47
            "return_1m": 1.64,  # (12,990 / 12,780 - 1) x 100 = 1.6432
            "return_3m": 5.10,  # (12,990 / 12,360 - 1) x 100 = 5.0971
            "return_1y": 24.07,  # (12,990 / 10,470 - 1) x 100 = 24.0688
            "pct_from_52w_high": -0.38,  # (12,990 / 13,040 - 1) x 100 = -0.3834
            "pct_from_52w_low": 30.55,  # (12,990 / 9,950 - 1) x 100 = 30.5528
            "price_vs_sma_20": 0.74,  # (12,990 / 12,895 - 1) x 100 = 0.7367
            "price_vs_sma_60": 2.32,  # (12,990 / 12,695 - 1) x 100 = 2.3237
            "price_vs_sma_120": 4.80,  # (12,990 / 12,395 - 1) x 100 = 4.8003
        },
    )


def test_fundamentals_from_eight_consecutive_quarters(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[RISER],
        {
            # TTM = 2024Q2..2025Q1; 2025Q2 is not reported yet.
            "eps_ttm": 433,  # 100 + 105 + 110 + 118
            "revenue_ttm": 500 * B,  # 110 + 120 + 130 + 140
            "bps": 5_000,  # the latest statement reported by as_of (2025Q1)
            "dps": 260,  # the latest annual statement (2024)
            "market_cap": 1_299_000_000_000,  # 12,990 x 100,000,000
            "per": 30.0,  # 12,990 / 433
            "pbr": 2.6,  # 12,990 / 5,000 = 2.598
            "psr": 2.6,  # 1,299B / 500B = 2.598
            "dividend_yield": 2.0,  # 260 / 12,990 x 100 = 2.0015
            "roe": 8.66,  # net profit TTM 10 + 10.5 + 11 + 11.8 = 43.3B over equity 500B
            "roa": 5.0,  # 43.3B / 866B x 100
            "operating_margin": 10.0,  # (11 + 12 + 13 + 14)B / 500B x 100
            "net_margin": 8.66,  # 43.3B / 500B x 100
            "debt_ratio": 73.2,  # 366B / 500B x 100
            # The four quarters before (2023Q2..2024Q1): revenue 4 x 100B = 400B, EPS 4 x 50 = 200.
            "revenue_growth_yoy": 25.0,  # (500 - 400) / 400 x 100
            "eps_growth_yoy": 116.5,  # (433 - 200) / 200 x 100
            # Annual 2024 against 2021: revenue 432B / 250B = 1.728 = 1.2^3; EPS 343 / 125 = 2.744 = 1.4^3.
            "revenue_growth_3y": 20.0,
            "eps_growth_3y": 40.0,
        },
    )


def test_a_loss_maker_with_broken_quarters_and_no_equity(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[LOSER],
        {
            "close_price": 5_104,  # 5,000 + 7 x (20 - 10) + 34
            "prev_close": 5_070,
            "change_pct": 0.67,  # 34 / 5,070 x 100 = 0.6706
            "turnover": 5_000_000_000,  # the bar's own traded value
            # 16 bars: too few for any moving average, average volume or lookback.
            "sma_20": None,
            "sma_60": None,
            "sma_120": None,
            "avg_volume_20d": None,
            "close_1m_ago": None,
            "return_1m": None,
            "return_1y": None,
            "price_vs_sma_20": None,
            # Wilder: the first 14 changes give avg_gain = 7 x 20 / 14 = 10, avg_loss = 7 x 10 / 14 = 5; then +34:
            # avg_gain = (10 x 13 + 34) / 14 = 164 / 14, avg_loss = (5 x 13 + 0) / 14 = 65 / 14;
            # RSI = 100 - 100 / (1 + 164 / 65) = 71.6157.
            "rsi_14": 71.62,
            # 2024Q4 is missing: every TTM figure is the 2024 annual statement's.
            "eps_ttm": -500,
            "revenue_ttm": 100 * B,
            "per": None,  # a loss-maker has no PER
            "bps": 0,
            "pbr": None,  # bps <= 0
            "roe": None,  # equity 0
            "debt_ratio": None,  # equity 0
            "roa": -20.0,  # -10B / 50B x 100
            "operating_margin": -5.0,  # -5B / 100B x 100
            "net_margin": -10.0,  # -10B / 100B x 100
            "market_cap": 51_040_000_000,  # 5,104 x 10,000,000
            "psr": 0.51,  # 51.04B / 100B = 0.5104
            "dps": 0,
            "dividend_yield": 0.0,
            # Fewer than eight quarters: 2024 against 2023.
            "revenue_growth_yoy": -16.67,  # (100 - 120) / 120 x 100 = -16.667
            "eps_growth_yoy": -100.0,  # (-500 - -250) / |-250| x 100: defined for a negative base
            "revenue_growth_3y": 7.72,  # (100 / 80)^(1/3) - 1 = 0.077217
            "eps_growth_3y": None,  # EPS -500 now: the CAGR needs both ends > 0
        },
    )


def test_a_figure_missing_from_one_quarter_falls_back_alone(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[PARTIAL],
        {
            "close_price": 1_130,  # 1,000 + 10 x 13
            "change_pct": 0.89,  # 10 / 1,120 x 100 = 0.8929
            "rsi_14": None,  # 14 bars: 13 changes, one short of the first average
            "eps_ttm": 100,  # 10 + 20 + 30 + 40: the four quarters carry EPS
            "revenue_ttm": 45 * B,  # 2024Q3 has no revenue: the 2024 annual statement's
            "operating_margin": 8.89,  # quarters' 4B over the annual 45B x 100 = 8.889
            "net_margin": 4.44,  # 4 x 0.5B = 2B over 45B x 100 = 4.444
            "roe": 10.0,  # 2B / 20B x 100
            "roa": 6.67,  # 2B / 30B x 100 = 6.667
            "debt_ratio": 50.0,  # 10B / 20B x 100
            "per": 11.3,  # 1,130 / 100
            "pbr": 0.45,  # 1,130 / 2,500 = 0.452
            "market_cap": None,  # no shares outstanding on file
            "psr": None,
            "dps": None,
            "dividend_yield": None,
            # Four quarters only: the annual statements, 2024 against 2023.
            "revenue_growth_yoy": 12.5,  # (45 - 40) / 40 x 100
            "eps_growth_yoy": 12.5,  # (90 - 80) / 80 x 100
            "revenue_growth_3y": None,  # no 2021 statement
            "eps_growth_3y": None,
        },
    )


def test_zero_revenue_zero_base_and_a_flat_price(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[FLAT],
        {
            "change_pct": 0.0,
            "sma_20": 2_000.0,
            "price_vs_sma_20": 0.0,
            "sma_60": None,
            "avg_volume_20d": 500,
            "rsi_14": None,  # no gain and no loss
            "high_52w": 2_050,
            "low_52w": 1_950,
            "revenue_ttm": 0,
            "psr": None,  # revenue_ttm <= 0
            "operating_margin": None,
            "net_margin": None,
            "revenue_growth_yoy": None,  # a base of 0
            "eps_growth_yoy": None,  # a base of 0
            "per": 200.0,  # 2,000 / 10
            "pbr": 2.0,  # 2,000 / 1,000
            "roe": 10.0,  # 1B / 10B x 100
            "roa": 6.67,  # 1B / 15B x 100 = 6.667
            "debt_ratio": 50.0,  # 5B / 10B x 100
            "dividend_yield": None,  # no DPS on file
        },
    )


def test_only_the_window_and_the_52_weeks_count(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[SPARSE],
        {
            "close_price": 3_000,
            "prev_close": 3_100,  # the bar 30 days before
            "change_pct": -3.23,  # -100 / 3,100 x 100 = -3.2258
            # Bars k <= 13 (390 days) are inside the 400-day window: 14 of the 20 bars, too few for sma_20 or RSI.
            "sma_20": None,
            "rsi_14": None,
            # Bars k <= 12 (360 days) are inside the 52 weeks (364 days); k = 13 at 390 days is not.
            "high_52w": 4_210,  # 3,000 + 100 x 12 + 10
            "low_52w": 2_990,  # 3,000 - 10
            "pct_from_52w_high": -28.74,  # (3,000 / 4,210 - 1) x 100 = -28.741
            "pct_from_52w_low": 0.33,  # (3,000 / 2,990 - 1) x 100 = 0.3344
            "market_cap": 3_000_000,  # 3,000 x 1,000
            "eps_ttm": None,  # no statements
            "per": None,
            "roe": None,
        },
    )


def test_a_stock_without_bars_in_the_window_keeps_its_last_close(indicators: dict[str, dict[str, Any]]) -> None:
    check(
        indicators[STALE],
        {
            "trade_date": AS_OF - dt.timedelta(days=500),
            "close_price": 702,
            "volume": 9,
            "turnover": 6_318,  # 702 x 9
            "prev_close": None,
            "change_pct": None,
            "high_52w": None,
            "low_52w": None,
            "sma_20": None,
            "rsi_14": None,
            "market_cap": 702_000,
            "quality_score": None,  # delisted: outside the score universe
            "value_score": None,
            "growth_score": None,
        },
    )


@pytest.mark.parametrize("code", [RISER, LOSER, PARTIAL, FLAT, SPARSE])
def test_the_latest_bar_is_as_of(indicators: dict[str, dict[str, Any]], code: str) -> None:
    check(indicators[code], {"trade_date": AS_OF})


# --- price_dependent: one formula for the stored figures and for live prices -----------------------------------


def test_stored_price_figures_are_price_dependent_of_the_stored_base(indicators: dict[str, dict[str, Any]]) -> None:
    shares = {RISER: 100_000_000, LOSER: 10_000_000, PARTIAL: None, FLAT: 1_000_000, SPARSE: 1_000, STALE: 1_000}
    codes = sorted(indicators)
    base = {
        name: np.array(
            [shares[code] if name == "shares_outstanding" else indicators[code][name] for code in codes],
            dtype=np.float64,
        )
        for name in PRICE_BASE_COLUMNS
    }
    close = np.array([indicators[code]["close_price"] for code in codes], dtype=np.float64)
    result = price_dependent(base, close)
    assert set(result) == set(PRICE_DEPENDENT_COLUMNS)
    for name in PRICE_DEPENDENT_COLUMNS:
        stored = [indicators[code][name] for code in codes]
        assert [None if math.isnan(v) else v for v in result[name].tolist()] == stored, name


def test_price_dependent_on_a_live_price() -> None:
    # RISER's base with a live close of 13,500; a second stock with every input null or zero.
    base = {name: np.array([NAN, NAN]) for name in PRICE_BASE_COLUMNS}
    riser = {
        "prev_close": 12_990,
        "shares_outstanding": 100_000_000,
        "eps_ttm": 433,
        "bps": 5_000,
        "dps": 260,
        "revenue_ttm": 500 * B,
        "high_52w": 13_040,
        "low_52w": 9_950,
        "sma_20": 12_895.0,
        "sma_60": 12_695.0,
        "sma_120": 12_395.0,
        "close_1m_ago": 12_780,
        "close_3m_ago": 12_360,
        "close_1y_ago": 10_470,
    }
    for name, value in riser.items():
        base[name][0] = value
    base["prev_close"][1] = 0
    base["eps_ttm"][1] = -5
    base["bps"][1] = 0
    base["revenue_ttm"][1] = 0
    result = price_dependent(base, np.array([13_500.0, 1_000.0]))
    assert {name: values[0] for name, values in result.items()} == {
        "change_pct": 3.93,  # (13,500 - 12,990) / 12,990 x 100 = 3.926
        "market_cap": 1_350_000_000_000.0,  # 13,500 x 100,000,000
        "per": 31.18,  # 13,500 / 433 = 31.178
        "pbr": 2.7,  # 13,500 / 5,000
        "psr": 2.7,  # 1,350B / 500B
        "dividend_yield": 1.93,  # 260 / 13,500 x 100 = 1.926
        "pct_from_52w_high": 3.53,  # above the stored high: (13,500 / 13,040 - 1) x 100 = 3.528
        "pct_from_52w_low": 35.68,  # (13,500 / 9,950 - 1) x 100 = 35.678
        "price_vs_sma_20": 4.69,  # (13,500 / 12,895 - 1) x 100 = 4.692
        "price_vs_sma_60": 6.34,  # (13,500 / 12,695 - 1) x 100 = 6.341
        "price_vs_sma_120": 8.91,  # (13,500 / 12,395 - 1) x 100 = 8.9149
        "return_1m": 5.63,  # (13,500 / 12,780 - 1) x 100 = 5.634
        "return_3m": 9.22,  # (13,500 / 12,360 - 1) x 100 = 9.223
        "return_1y": 28.94,  # (13,500 / 10,470 - 1) x 100 = 28.9398
    }
    # Null, zero and negative divisors give null (NaN), never an error.
    assert all(math.isnan(values[1]) for values in result.values())
