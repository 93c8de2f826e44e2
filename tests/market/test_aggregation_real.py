"""Weekly and monthly bars over 33 years of real 005930 history, checked against pandas."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import pytest_asyncio

from kstock.app import create_app
from kstock.db import migrate
from kstock.db.bulk import copy_rows
from kstock.db.engine import create_engine
from kstock.market.schemas import Interval
from kstock.market.service import aggregate_bars
from tests.support.app import lifespan_client
from tests.support.databases import DatabaseFactory

COLUMNS = ("code", "trade_date", "open", "high", "low", "close", "volume")


def read_long_history(path: Path) -> list[tuple[str, dt.date, int, int, int, int, int]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            (
                row["code"],
                dt.datetime.strptime(row["date"], "%Y%m%d").date(),  # noqa: DTZ007 - a calendar date
                int(row["open"]),
                int(row["high"]),
                int(row["low"]),
                int(row["close"]),
                int(row["volume"]),
            )
            for row in csv.DictReader(handle)
        ]


@pytest.fixture(scope="module")
def samsung_history(krx_data_dir: Path) -> list[tuple[str, dt.date, int, int, int, int, int]]:
    return read_long_history(krx_data_dir / "ohlcv_long" / "005930.csv")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def real_client(
    db_factory: DatabaseFactory, samsung_history: list[tuple[str, dt.date, int, int, int, int, int]]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = await db_factory.settings("real_samsung")
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        await copy_rows(
            connection, "instruments", ("code", "name", "market", "status"), [("005930", "삼성전자", "KOSPI", "active")]
        )
        await copy_rows(connection, "daily_bars", COLUMNS, samsung_history)
    await engine.dispose()
    app = create_app(settings)
    async with lifespan_client(app) as http:
        yield http


def pandas_bars(history: list[tuple[str, dt.date, int, int, int, int, int]], rule: str) -> list[dict[str, object]]:
    """The reference: pandas groups by calendar period and labels each with its last actual trading day."""
    frame = pd.DataFrame(history, columns=list(COLUMNS)).drop(columns="code")
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    grouped = frame.set_index("trade_date", drop=False).resample(rule)
    result = grouped.agg(
        {"trade_date": "last", "open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    ).dropna()
    return [
        {
            "trade_date": row.trade_date.date().isoformat(),
            "open": int(row.open),
            "high": int(row.high),
            "low": int(row.low),
            "close": int(row.close),
            "volume": int(row.volume),
        }
        for row in result.itertuples()
    ]


@pytest.mark.parametrize(("interval", "rule"), [("weekly", "W-SUN"), ("monthly", "MS")])
async def test_aggregates_match_pandas_over_the_whole_history(
    real_client: httpx.AsyncClient,
    samsung_history: list[tuple[str, dt.date, int, int, int, int, int]],
    interval: str,
    rule: str,
) -> None:
    first, last = samsung_history[0][1], samsung_history[-1][1]
    response = await real_client.get(f"/v1/stocks/005930/prices?from_date={first}&to_date={last}&interval={interval}")
    assert response.status_code == 200
    prices = response.json()["prices"]
    expected = pandas_bars(samsung_history, rule)
    assert len(prices) == len(expected) > 300
    assert prices == expected


async def test_daily_range_returns_every_bar(
    real_client: httpx.AsyncClient, samsung_history: list[tuple[str, dt.date, int, int, int, int, int]]
) -> None:
    response = await real_client.get("/v1/stocks/005930/prices?from_date=2013-12-20&to_date=2023-12-22")
    prices = response.json()["prices"]
    expected = [row for row in samsung_history if dt.date(2013, 12, 20) <= row[1] <= dt.date(2023, 12, 22)]
    assert len(prices) == len(expected) > 2_400
    assert prices[0]["trade_date"] == expected[0][1].isoformat()
    assert prices[-1]["close"] == expected[-1][5]


def test_partial_periods_at_range_edges_only_use_bars_inside() -> None:
    days = [
        (dt.date(2025, 1, 8), 100, 110, 90, 105, 1),
        (dt.date(2025, 1, 9), 105, 120, 100, 110, 2),
        (dt.date(2025, 1, 13), 110, 111, 80, 81, 4),
    ]
    assert aggregate_bars(days, Interval.WEEKLY) == [
        {"trade_date": dt.date(2025, 1, 9), "open": 100, "high": 120, "low": 90, "close": 110, "volume": 3},
        {"trade_date": dt.date(2025, 1, 13), "open": 110, "high": 111, "low": 80, "close": 81, "volume": 4},
    ]
    assert aggregate_bars([], Interval.MONTHLY) == []
