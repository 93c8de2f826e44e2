"""Live prices: a tick updates the table in place, with the loader's formulas, and the stock's detail with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest_asyncio

from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.market.snapshot import MarketSnapshot
from kstock.market.table import Tick
from kstock.screener.engine import compile_screen, run, select_rows
from kstock.screener.schemas import ScreenDefinition
from tests.support.databases import DatabaseFactory
from tests.support.seed import TTM_EPS, seed_market

SHARES = 5_969_782_550
LAST_CLOSE = 53_400  # 005930 on 2025-01-10
DAY = dt.date(2025, 1, 10)
NEXT_DAY = dt.date(2025, 1, 13)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def snapshot(db_factory: DatabaseFactory) -> AsyncIterator[MarketSnapshot]:
    settings: Settings = await db_factory.settings("screener_ticks")
    await seed_market(settings)
    engine = create_engine(settings)
    loaded = MarketSnapshot()
    await loaded.load(engine)
    await engine.dispose()
    yield loaded


def codes(snapshot: MarketSnapshot, **definition: object) -> list[str]:
    table = snapshot.table
    query = compile_screen(ScreenDefinition.model_validate(definition))
    return [table.codes[i] for i in select_rows(table, query).tolist()]


def rendered_close(snapshot: MarketSnapshot, code: str) -> object:
    query = compile_screen(ScreenDefinition.model_validate({"fields": ["close_price", "per"]}))
    stocks = run(snapshot.table, query, 0, 10).stocks
    return next(s["close_price"] for s in stocks if s["code"] == code)


async def test_a_tick_of_a_new_session(snapshot: MarketSnapshot) -> None:
    assert rendered_close(snapshot, "005930") == LAST_CLOSE  # rendered rows are cached from here on
    before = snapshot.get("005930")
    assert before is not None
    assert before["latest_price"]["close_price"] == LAST_CLOSE
    assert snapshot.apply_ticks([Tick("005930", 60_000, NEXT_DAY, volume=1_000, turnover=60_000_000)]) == ["005930"]

    after = snapshot.get("005930")
    assert after is not None
    price = after["latest_price"]
    assert price["close_price"] == 60_000
    assert price["trade_date"] == NEXT_DAY
    assert price["change_pct"] == round((60_000 - LAST_CLOSE) / LAST_CLOSE * 100, 2) == 12.36
    assert price["volume"] == 1_000
    assert price["turnover"] == 60_000_000
    assert price["market_cap"] == 60_000 * SHARES
    indicators = after["indicators"]
    assert indicators["per"] == round(60_000 / TTM_EPS, 2) == 13.64
    assert indicators["high_52w"] == 60_000  # a new high
    assert indicators["pct_from_52w_high"] == 0.0
    # The screen sees it at once: rendering, sorting and filtering use the new price.
    assert rendered_close(snapshot, "005930") == 60_000
    assert codes(snapshot, sort_by="close_price", order="desc")[:3] == ["035420", "000660", "005930"]
    assert "005930" in codes(snapshot, filters={"close_price": {"min": 59_000, "max": 61_000}})
    assert "005930" not in codes(snapshot, filters={"close_price": {"max": LAST_CLOSE}})
    listed, _ = snapshot.page(market=None, sector=None, sort_by="close_price", descending=False, offset=0, limit=10)
    assert [s["code"] for s in listed].index("005930") > [s["code"] for s in listed].index("123450")

    # Another tick of the same session keeps the previous close; an older tick and unknown codes are ignored.
    snapshot.apply_ticks([Tick("005930", 59_000, NEXT_DAY, volume=2_500)])
    same = snapshot.get("005930")
    assert same is not None
    assert same["latest_price"]["change_pct"] == round((59_000 - LAST_CLOSE) / LAST_CLOSE * 100, 2)
    assert same["latest_price"]["volume"] == 2_500
    assert same["indicators"]["high_52w"] == 60_000
    assert snapshot.apply_ticks([Tick("005930", 1_000, DAY), Tick("777777", 1_000, NEXT_DAY)]) == []
    assert snapshot.apply_ticks([Tick("005930", 0, NEXT_DAY)]) == []
    unchanged = snapshot.get("005930")
    assert unchanged is not None
    assert unchanged["latest_price"]["close_price"] == 59_000


async def test_a_tick_for_a_stock_without_bars_prices_it(snapshot: MarketSnapshot) -> None:
    assert snapshot.get("005935")["latest_price"] is None  # type: ignore[index]
    snapshot.apply_ticks([Tick("005935", 45_000, NEXT_DAY, volume=10)])
    detail = snapshot.get("005935")
    assert detail is not None
    assert detail["latest_price"]["close_price"] == 45_000
    assert detail["latest_price"]["change_pct"] is None
    assert detail["latest_price"]["volume"] == 10
    assert "005935" in codes(snapshot, filters={"close_price": {"min": 1}})
