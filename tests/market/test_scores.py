"""Percentile ranks and the quality, value and growth scores, hand-computed on a five-stock universe."""

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
from kstock.market.indicators import recompute_indicators
from kstock.market.models import DailyBar, FinancialStatement, Instrument
from kstock.market.scores import percentile, score_all
from tests.support.databases import DatabaseFactory

NAN = math.nan


def as_list(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 4) for v in values]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # ranks 1..4 over n = 4: 100 x (r - 1) / 3
        ([30.0, 10.0, 40.0, 20.0], [66.6667, 0.0, 100.0, 33.3333]),
        # the two 10s share ranks 1 and 2: average 1.5 -> 100 x 0.5 / 3
        ([10.0, 10.0, 20.0, 30.0], [16.6667, 16.6667, 66.6667, 100.0]),
        # NaN is left out: n = 3
        ([NAN, 5.0, -5.0, 0.0], [None, 100.0, 0.0, 50.0]),
        ([7.0, 7.0, 7.0], [50.0, 50.0, 50.0]),  # all tied: rank 2 of 3
        ([NAN, 3.0], [None, 50.0]),  # n == 1
        ([NAN, NAN], [None, None]),
        ([], []),
    ],
)
def test_percentile(values: list[float], expected: list[float | None]) -> None:
    assert as_list(percentile(np.array(values, dtype=np.float64))) == expected


def figures(**columns: list[float]) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


# Five stocks in the universe (S1..S5) and a sixth (S6) outside it, with figures that would change every rank.
UNIVERSE = np.array([True, True, True, True, True, False])
FIGURES = figures(
    roe=[20, 10, 5, NAN, 15, 1_000],
    operating_margin=[15, 10, 5, NAN, NAN, 1_000],
    net_margin=[10, 5, 4, NAN, NAN, 1_000],
    roe_stdev=[1.0, 2.0, 3.0, NAN, NAN, 0.0],
    op_margin_stdev=[0.5, 0.5, NAN, NAN, NAN, 0.0],
    per=[10, 20, NAN, NAN, 5, 1],
    pbr=[1.0, 2.0, 0.5, NAN, NAN, 0.1],
    dividend_yield=[2.0, 0.0, 5.0, NAN, NAN, 50],
    eps_ttm=[100, 50, -10, NAN, 200, 1],
    bps=[1_000, 500, 2_000, NAN, -100, 1],
    revenue_growth_yoy=[10, 20, 30, NAN, 10, 1_000],
    eps_growth_yoy=[20, -50, NAN, NAN, 10, 1_000],
    revenue_growth_3y=[5, NAN, NAN, NAN, 15, 1_000],
    eps_growth_3y=[NAN, NAN, NAN, NAN, 12, 1_000],
)


def test_quality_score() -> None:
    # pct(roe) over {20, 10, 5, 15}: S3 0, S2 33.33, S5 66.67, S1 100
    # pct(operating_margin) over {15, 10, 5}: S3 0, S2 50, S1 100
    # pct(net_margin) over {10, 5, 4}: S3 0, S2 50, S1 100
    # 100 - pct(roe_stdev) over {1, 2, 3}: S1 100, S2 50, S3 0
    # 100 - pct(op_margin_stdev) over {0.5, 0.5} (tied: ranks 1 and 2 average 1.5, pct 50): S1 50, S2 50
    # S1 (100 + 100 + 100 + 100 + 50) / 5 = 90; S2 (33.33 + 50 + 50 + 50 + 50) / 5 = 46.67;
    # S3 (0 + 0 + 0 + 0) / 4 = 0; S4 has no component, S5 one (pct(roe)): fewer than 3, null; S6 is outside.
    assert as_list(score_all(FIGURES, UNIVERSE)["quality_score"]) == [90.0, 46.7, 0.0, None, None, None]


def test_value_score() -> None:
    # PER: 100 - pct(per) over {10, 20, 5}: S5 100, S1 50, S2 0; S3 is a loss-maker (eps_ttm <= 0): 0.
    # PBR: 100 - pct(pbr) over {1.0, 2.0, 0.5}: S3 100, S1 50, S2 0; S5 has bps <= 0: 0.
    # Dividend: pct(dividend_yield) over {2.0, 0.0, 5.0}: S2 0, S1 50, S3 100.
    # S1 (50 + 50 + 50) / 3 = 50; S2 (0 + 0 + 0) / 3 = 0; S3 (0 + 100 + 100) / 3 = 66.67;
    # S4 nothing: null; S5 (100 + 0) / 2 = 50 (two of three are enough).
    assert as_list(score_all(FIGURES, UNIVERSE)["value_score"]) == [50.0, 0.0, 66.7, None, 50.0, None]


def test_growth_score() -> None:
    # pct(revenue_growth_yoy) over {10, 20, 30, 10}: the 10s tie at rank 1.5 -> 16.67; 20 -> 66.67; 30 -> 100
    # pct(eps_growth_yoy) over {20, -50, 10}: S2 0, S5 50, S1 100
    # pct(revenue_growth_3y) over {5, 15}: S1 0, S5 100
    # pct(eps_growth_3y) over {12}: n == 1 -> S5 50
    # S1 (16.67 + 100 + 0) / 3 = 38.89; S2 (66.67 + 0) / 2 = 33.33; S3 one component: null; S4 null;
    # S5 (16.67 + 50 + 100 + 50) / 4 = 54.17
    assert as_list(score_all(FIGURES, UNIVERSE)["growth_score"]) == [38.9, 33.3, None, None, 54.2, None]


def test_the_universe_decides_the_ranks() -> None:
    everyone = score_all(FIGURES, np.ones(6, dtype=np.bool_))
    # With S6 (PER 1, the cheapest) ranked too, S5's PER is no longer the lowest: pct(per) over {10, 20, 5, 1}
    # gives S5 33.33, so its value score is (66.67 + 0) / 2 = 33.33.
    assert as_list(everyone["value_score"])[4] == 33.3
    assert as_list(everyone["value_score"])[5] is not None


# --- the same rules end to end: stored scores after a load ----------------------------------------------------

AS_OF = dt.date(2025, 6, 30)
B = 1_000_000_000


def annual(code: str, year: int, **figures: int | None) -> dict[str, Any]:
    fields = "revenue operating_profit net_profit total_assets total_liabilities total_equity eps bps dps".split()
    return {
        "code": code,
        "period_type": "annual",
        "fiscal_year": year,
        "fiscal_quarter": 0,
        "report_date": dt.date(year + 1, 3, 31),
        **{field: figures.get(field) for field in fields},
    }


# Every stock closes at 10,000 on as_of. K9 is delisted and would be the cheapest and most profitable stock.
MARKET = {
    # code: (status, 2024 annual statement)
    "K10000": ("active", dict(revenue=100 * B, operating_profit=10 * B, net_profit=5 * B, total_equity=50 * B,
                              eps=1_000, bps=10_000, dps=200)),
    "K20000": ("active", dict(revenue=100 * B, operating_profit=20 * B, net_profit=10 * B, total_equity=50 * B,
                              eps=500, bps=5_000, dps=0)),
    "K30000": ("active", dict(revenue=100 * B, operating_profit=-5 * B, net_profit=-10 * B, total_equity=100 * B,
                              eps=-100, bps=20_000, dps=500)),
    "K40000": ("halted", dict(net_profit=8 * B, eps=2_000, bps=-1_000)),
    "K90000": ("delisted", dict(revenue=100 * B, operating_profit=90 * B, net_profit=90 * B, total_equity=10 * B,
                                eps=10_000, bps=100_000, dps=5_000)),
}  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stored_scores(db_factory: DatabaseFactory) -> dict[str, tuple[float | None, float | None, float | None]]:
    engine = create_engine(await db_factory.settings("scores"))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                insert(Instrument),
                [
                    {"code": code, "name": code, "market": "KOSPI", "shares_outstanding": 1_000_000, "status": status}
                    for code, (status, _) in MARKET.items()
                ],
            )
            await connection.execute(
                insert(DailyBar),
                [
                    {"code": code, "trade_date": AS_OF, "open": 10_000, "high": 10_000, "low": 10_000, "close": 10_000,
                     "volume": 1, "trade_value": None}
                    for code in MARKET
                ],
            )  # fmt: skip
            statements = [annual(code, 2024, **figures) for code, (_, figures) in MARKET.items()]
            # K1 also has 2023: revenue 80B -> 100B (+25 %), EPS 800 -> 1,000 (+25 %).
            statements.append(annual("K10000", 2023, revenue=80 * B, eps=800))
            await connection.execute(insert(FinancialStatement), statements)
            await recompute_indicators(connection)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT code, quality_score, value_score, growth_score FROM stock_indicators")
            )
            return {row[0]: (row[1], row[2], row[3]) for row in rows}
    finally:
        await engine.dispose()


async def test_stored_scores(stored_scores: dict[str, tuple[float | None, float | None, float | None]]) -> None:
    # Universe K1..K4 (K4 is halted, not delisted: it counts). PER 10, 20, loss, 5; PBR 1.0, 2.0, 0.5, bps < 0;
    # yield 2.0, 0.0, 5.0, none -> the value components of the unit test above: K1 50, K2 0, K3 66.67, K4 50.
    # Quality: ROE 10, 20, -10 and margins in the same order, one year each (no stability component):
    # K1 (50 + 50 + 50) / 3 = 50, K2 100, K3 0; K4 has no revenue or equity: no component, null.
    # Growth: only K1 has two years: pct over one value is 50 for revenue and EPS growth -> 50; the others null.
    assert stored_scores == {
        "K10000": (50.0, 50.0, 50.0),
        "K20000": (100.0, 0.0, None),
        "K30000": (0.0, 66.7, None),
        "K40000": (None, 50.0, None),
        "K90000": (None, None, None),  # delisted: no score, and not in anyone's ranks
    }
