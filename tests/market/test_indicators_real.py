"""Technical figures of the 30 largest KOSPI stocks (real KRX prices, 2023-12-05..2025-06-17) against pandas.

The prices go through the real importer (which recomputes the indicators); the reference is computed with pandas
from the bars the importer stored, over each stock's whole history (about 370 bars):

- ``sma_n``: ``close.rolling(n).mean()``; ``avg_volume_20d``: ``volume.rolling(20).mean()``.
- ``return_1m|3m|1y``: ``close.pct_change(21|63|252) x 100``.
- ``high_52w`` / ``low_52w``: the highest high and lowest low of the bars dated after as_of - 364 days (364 days
  ending at as_of, both ends included); two of the 30 stocks had their extreme exactly 364 days back.
- ``price_vs_sma_n``: ``(close / sma_n - 1) x 100`` from pandas' unrounded mean, rounded to 2 decimals: equal.
- ``rsi_14``: Wilder's smoothing as ``ewm(alpha=1/14, adjust=False)`` of the gains and losses. pandas seeds it with
  the first change over the full series; ours seeds it with the mean of the first 14 changes inside the 400-day
  window (about 270 bars). Both recursions forget their seed by a factor (13/14) per bar, so after the 250+ bars
  both run on the same data the seeds' difference is scaled by (13/14)^250 ~ 1e-8: far below the rounding.

Tolerances: stored figures (but the SMAs, stored unrounded) are rounded to 2 decimals, so they may differ from
the unrounded reference by 0.005; the allowance on top (1e-6) covers float summation order and the RSI seed.
``avg_volume_20d`` is rounded to an integer: within 0.5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest
import pytest_asyncio
from sqlalchemy import insert, text

from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.importers import import_prices
from kstock.market.models import Instrument
from tests.support.databases import DatabaseFactory

TOP30 = "ohlcv_2y/kospi_top30_ohlcv_20231205_20250617.csv"
ROUNDED = 0.005 + 1e-6
FIGURES = ("sma_20", "sma_60", "sma_120", "rsi_14", "return_1m", "return_3m", "return_1y", "avg_volume_20d")
RANGE_52W = ("high_52w", "low_52w")
PRICE_VS_SMA = ("price_vs_sma_20", "price_vs_sma_60", "price_vs_sma_120")
STORED_SQL = f"SELECT code, trade_date, {', '.join((*FIGURES, *RANGE_52W, *PRICE_VS_SMA))} FROM stock_indicators"  # noqa: S608


def reference(bars: pd.DataFrame) -> pd.DataFrame:
    """The figures of each stock's latest bar, computed with pandas over its whole history."""
    rows: dict[str, dict[str, float]] = {}
    as_of = pd.Timestamp(bars["trade_date"].max())
    for code, history in bars.groupby("code"):
        year = history[pd.to_datetime(history["trade_date"]) > as_of - pd.Timedelta(days=364)]
        close = history["close"].astype(float).reset_index(drop=True)
        volume = history["volume"].astype(float).reset_index(drop=True)
        change = close.diff()
        average_gain = change.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
        average_loss = (-change).clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
        rsi = 100 - 100 / (1 + average_gain / average_loss)
        rows[str(code)] = {
            "sma_20": close.rolling(20).mean().iloc[-1],
            "sma_60": close.rolling(60).mean().iloc[-1],
            "sma_120": close.rolling(120).mean().iloc[-1],
            "rsi_14": rsi.iloc[-1],
            "return_1m": close.pct_change(21).iloc[-1] * 100,
            "return_3m": close.pct_change(63).iloc[-1] * 100,
            "return_1y": close.pct_change(252).iloc[-1] * 100,
            "avg_volume_20d": volume.rolling(20).mean().iloc[-1],
            "high_52w": float(year["high"].max()),
            "low_52w": float(year["low"].min()),
            **{
                f"price_vs_sma_{n}": round((close.iloc[-1] / close.rolling(n).mean().iloc[-1] - 1) * 100, 2)
                for n in (20, 60, 120)
            },
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def loaded(
    db_factory: DatabaseFactory, krx_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(stored indicators, pandas reference), both indexed by code."""
    path = krx_data_dir / TOP30
    listing = pd.read_csv(path, dtype={"code": str}, usecols=["code", "name"]).drop_duplicates("code")
    engine = create_engine(await db_factory.settings("indicators_real"))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                insert(Instrument),
                [{"code": r.code, "name": r.name, "market": "KOSPI", "status": "active"} for r in listing.itertuples()],
            )
        summary = await import_prices(
            engine, path, batch_size=5_000, progress=None, rejects_path=tmp_path_factory.mktemp("real") / "r.csv"
        )
        assert summary.ok
        assert summary.indicators == 30
        async with engine.connect() as connection:
            bars = pd.DataFrame(
                [
                    tuple(row)
                    for row in await connection.execute(
                        text(
                            "SELECT code, trade_date, high, low, close, volume FROM daily_bars"
                            " ORDER BY code, trade_date"
                        )
                    )
                ],
                columns=["code", "trade_date", "high", "low", "close", "volume"],
            )
            stored = pd.DataFrame(
                [dict(row) for row in (await connection.execute(text(STORED_SQL))).mappings()]
            ).set_index("code")
    finally:
        await engine.dispose()
    yield stored, reference(bars)


def test_every_stock_has_every_figure(loaded: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stored, expected = loaded
    assert len(stored) == 30
    assert sorted(stored.index) == sorted(expected.index)
    assert {str(day) for day in stored["trade_date"]} == {str(dt.date(2025, 6, 17))}
    # About 370 bars each, 270 of them in the 400-day window: enough for the 1-year lookback everywhere.
    assert not stored[list(FIGURES)].isna().any().any()
    assert not expected.isna().any().any()


@pytest.mark.parametrize("figure", [f for f in FIGURES if f != "avg_volume_20d"])
def test_matches_pandas(loaded: tuple[pd.DataFrame, pd.DataFrame], figure: str) -> None:
    stored, expected = loaded
    difference = (stored[figure].astype(float) - expected.loc[stored.index, figure]).abs()
    assert difference.max() <= ROUNDED, difference.sort_values().tail(3).to_dict()


def test_52_week_range_matches_pandas(loaded: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stored, expected = loaded
    for figure in RANGE_52W:
        assert stored[figure].astype(float).to_dict() == expected.loc[stored.index, figure].to_dict(), figure


def test_price_vs_sma_matches_pandas_from_the_unrounded_mean(loaded: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stored, expected = loaded
    for figure in PRICE_VS_SMA:
        assert stored[figure].astype(float).to_dict() == expected.loc[stored.index, figure].to_dict(), figure


def test_average_volume_matches_pandas(loaded: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stored, expected = loaded
    difference = (stored["avg_volume_20d"].astype(float) - expected.loc[stored.index, "avg_volume_20d"]).abs()
    assert difference.max() <= 0.5
    assert (stored["avg_volume_20d"] == stored["avg_volume_20d"].round()).all()


def test_rsi_is_not_trivially_bounded(loaded: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """The comparison means something: real RSIs spread over the range, none at the 0/100 edges."""
    rsi = loaded[0]["rsi_14"].astype(float)
    assert 0 < rsi.min() < 45 < 55 < rsi.max() < 100
