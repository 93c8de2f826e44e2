"""The in-memory snapshot follows the database: loaders bump the version, instances reload and drop caches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.market.importers import import_listing, import_prices
from kstock.market.versions import MARKET_DATA, current_version
from tests.support.app import app_state, lifespan_client
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

LISTING = (
    ",Code,Name,Market,Sector,Industry,Products,ListingDate,SettleMonth,Representative,HomePage,Region\n"
    "0,373220,LG에너지솔루션,KOSPI,,일차전지 및 축전지 제조업,2차전지,2022-01-27,12월,,,\n"
)
RANGE = "/v1/stocks/005930/prices?from_date=2024-12-01&to_date=2025-01-31"


@pytest_asyncio.fixture(loop_scope="session")
async def live(db_factory: DatabaseFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Settings]]:
    settings = (await db_factory.settings("snapshot")).model_copy(update={"snapshot_refresh_s": 0.05})
    await seed_market(settings)
    app = create_app(settings)
    async with lifespan_client(app) as http:
        yield app, http, settings


async def test_new_listing_appears_after_the_refresh_and_caches_are_dropped(
    live: tuple[FastAPI, httpx.AsyncClient, Settings], tmp_path: Path
) -> None:
    app, http, settings = live
    assert (await http.get("/v1/stocks/373220")).status_code == 404
    first = await http.get(RANGE)
    assert first.headers["x-cache"] == "MISS"
    second = await http.get(RANGE)
    assert second.headers["x-cache"] == "HIT"
    assert second.content == first.content

    listing = tmp_path / "listing.csv"
    listing.write_text(LISTING, encoding="utf-8-sig")
    engine = create_engine(settings)
    try:
        summary = await import_listing(engine, listing, batch_size=100, progress=None, rejects_path=tmp_path / "r.csv")
        assert summary.inserted == 1
    finally:
        await engine.dispose()

    # Another process wrote; this instance's poller sees the new version within a few intervals.
    for _ in range(100):
        if (await http.get("/v1/stocks/373220")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    detail = (await http.get("/v1/stocks/373220")).json()
    assert detail["name"] == "LG에너지솔루션"
    assert detail["sector"] == "전기전자"
    assert (await http.get("/v1/stocks?market=KOSPI")).json()["meta"]["total"] == 5
    assert (await http.get(RANGE)).headers["x-cache"] == "MISS"
    version = app_state(app).market_snapshot.version
    assert version is not None
    assert version >= 2


async def test_loaders_bump_the_version_only_when_data_changed(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    listing = tmp_path / "listing.csv"
    listing.write_text(LISTING, encoding="utf-8-sig")
    prices = tmp_path / "prices.csv"
    prices.write_text("code,date,open,high,low,close,volume\n373220,2025-01-02,360000,365000,355000,362000,1000\n")

    async def version() -> int:
        async with clean_engine.connect() as connection:
            return await current_version(connection, MARKET_DATA)

    before = await version()
    await import_listing(clean_engine, listing, batch_size=10, progress=None, rejects_path=tmp_path / "r.csv")
    after_listing = await version()
    assert after_listing > before
    first = await import_prices(clean_engine, prices, batch_size=10, progress=None, rejects_path=tmp_path / "r.csv")
    assert first.inserted == 1
    after_prices = await version()
    assert after_prices > after_listing
    again = await import_prices(clean_engine, prices, batch_size=10, progress=None, rejects_path=tmp_path / "r.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert await version() == after_prices
    await import_listing(clean_engine, listing, batch_size=10, progress=None, rejects_path=tmp_path / "r.csv")
    assert await version() == after_prices
