"""Edges of two stored figures, each against a value computed here by hand (exact fractions where it matters):

- the 52-week range covers 364 days ending at the latest trading day, both ends included: a bar 363 days before it
  counts, one 364 days before does not;
- ``price_vs_sma_n`` is computed from the exact moving average, not from the 2-decimal one a response shows, on the
  loader's path and on the live path (``price_dependent`` over the stored base).
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from typing import Any

import numpy as np
import orjson
import pytest_asyncio
from sqlalchemy import insert, text

from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.fields import BY_NAME
from kstock.market.figures import PRICE_BASE_COLUMNS, price_dependent
from kstock.market.indicators import recompute_indicators
from kstock.market.models import DailyBar, Instrument
from kstock.market.table import ScreenTable
from tests.market.test_indicators import bar, daily, instrument
from tests.support.databases import DatabaseFactory

AS_OF = dt.date(2025, 6, 30)
EDGE, OFFGRID = "100110", "100120"

# EDGE: the latest bar at 5,000 (as_of), one at 6,000 / 4,000 (high / low) 363 days before it, and one at
# 9,000 / 1,000 364 days before it: the 52 weeks take the second, not the third.
EDGE_BARS = [
    {**bar(EDGE, AS_OF, 5_000, 10), "high": 5_050, "low": 4_950},
    {**bar(EDGE, AS_OF - dt.timedelta(days=363), 5_000, 10), "high": 6_000, "low": 4_000},
    {**bar(EDGE, AS_OF - dt.timedelta(days=364), 5_000, 10), "high": 9_000, "low": 1_000},
]
# OFFGRID: 60 closes summing to 54,008 (924, 58 x 898, then 1,000): the SMA-60 is 54,008 / 60 = 900.1333...
OFFGRID_CLOSES = [924] + [898] * 58 + [1_000]


def exact_pct(close: int, reference: Fraction) -> float:
    """(close / reference - 1) x 100 rounded half to even to 2 decimals, computed exactly."""
    return float(round((Fraction(close) / reference - 1) * 100, 2))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def indicators(db_factory: DatabaseFactory) -> dict[str, dict[str, Any]]:
    engine = create_engine(await db_factory.settings("indicator_edges"))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(Instrument), [instrument(EDGE, 1_000), instrument(OFFGRID, 1_000)])
            await connection.execute(
                insert(DailyBar), EDGE_BARS + daily(OFFGRID, OFFGRID_CLOSES, [1] * len(OFFGRID_CLOSES))
            )
            assert await recompute_indicators(connection) == 2
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT * FROM stock_indicators ORDER BY code"))
            return {row["code"]: dict(row) for row in result.mappings()}
    finally:
        await engine.dispose()


def test_the_52_weeks_are_364_days_ending_at_the_latest_trading_day(indicators: dict[str, dict[str, Any]]) -> None:
    row = indicators[EDGE]
    assert (row["high_52w"], row["low_52w"]) == (6_000, 4_000)
    assert row["pct_from_52w_high"] == exact_pct(5_000, Fraction(6_000)) == -16.67
    assert row["pct_from_52w_low"] == exact_pct(5_000, Fraction(4_000)) == 25.0


def test_price_vs_sma_uses_the_exact_average(indicators: dict[str, dict[str, Any]]) -> None:
    row = indicators[OFFGRID]
    sma_60 = Fraction(sum(OFFGRID_CLOSES), 60)
    # 11.0947... from the exact mean; the 2-decimal mean 900.13 would give 11.0951... -> 11.10.
    assert exact_pct(1_000, sma_60) == 11.09
    assert exact_pct(1_000, Fraction("900.13")) == 11.10
    assert row["price_vs_sma_60"] == 11.09
    assert row["sma_60"] == float(sma_60)  # stored unrounded
    sma_20 = Fraction(sum(OFFGRID_CLOSES[-20:]), 20)
    assert row["price_vs_sma_20"] == exact_pct(1_000, sma_20)
    # The live path recomputes from the stored base: a tick at the same close gives the same figure.
    stored = {**row, "shares_outstanding": 1_000}
    base = {name: np.array([stored[name]], dtype=np.float64) for name in PRICE_BASE_COLUMNS}
    assert price_dependent(base, np.array([1_000.0]))["price_vs_sma_60"][0] == 11.09


def test_a_response_shows_the_average_to_two_decimals(indicators: dict[str, dict[str, Any]]) -> None:
    row = indicators[OFFGRID]
    table = ScreenTable(
        [
            {
                **row,
                "name": "x",
                "market": "KOSDAQ",
                "sector": None,
                "industry": None,
                "status": "active",
                "shares_outstanding": 1_000,
            }
        ]
    )
    shown = table.row(0)
    assert shown["sma_60"] == 900.13
    assert shown["price_vs_sma_60"] == 11.09
    # Screens compare the exact mean: 900.1333 > 900.13.
    assert table.values("sma_60")[0] > 900.13
    assert BY_NAME["sma_60"].decimals == 2
    assert not math.isnan(table.values("sma_20")[0])


def test_a_tiny_negative_figure_is_zero_not_minus_zero() -> None:
    # A close 0.004% under its SMA rounds to 0.00: shown as 0.0, never -0.0.
    base = {name: np.array([np.nan]) for name in PRICE_BASE_COLUMNS}
    base["sma_20"][0] = 10_000.4
    base["prev_close"][0] = 10_000
    figure = price_dependent(base, np.array([10_000.0]))["price_vs_sma_20"][0]
    assert figure == 0.0
    assert math.copysign(1.0, figure) == 1.0
    assert orjson.dumps({"figure": float(figure)}) == b'{"figure":0.0}'
