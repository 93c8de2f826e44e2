"""Holdings per portfolio by tier, and a halted stock's holding, over a small demo market (25 stocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import update

from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.identity.principal import Tier
from kstock.market.demo import generate_demo
from kstock.market.models import Instrument
from tests.portfolio.helpers import detail, new_portfolio
from tests.support.accounts import make_account
from tests.support.app import Live, app_state, assert_error, running, stock_detail
from tests.support.databases import DatabaseFactory


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(db_factory: DatabaseFactory) -> AsyncIterator[Live]:
    settings = await db_factory.settings("portfolio_quotas", snapshot_refresh_s=0)
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await generate_demo(engine, stocks=25, years=1, seed=7, replace=False, progress=None)
    await engine.dispose()
    async with running(settings) as live:
        yield live


async def holding(live: Live, account_headers: dict[str, str], pid: str, code: str) -> int:
    body = {"stock_code": code, "quantity": 1, "avg_price": 1_000, "purchase_date": "2026-01-05"}
    response = await live.http.post(f"/v1/portfolios/{pid}/holdings", json=body, headers=account_headers)
    return response.status_code


async def test_free_portfolios_hold_twenty_stocks(market: Live) -> None:
    codes = list(app_state(market.app).market_snapshot.table.codes)
    assert len(codes) >= 21
    free = await make_account(market, "free@example.com")
    pid = await new_portfolio(market, free)
    for code in codes[:20]:
        assert await holding(market, free.headers, pid, code) == 201
    body = {"stock_code": codes[20], "quantity": 1, "avg_price": 1_000, "purchase_date": "2026-01-05"}
    refused = await market.http.post(f"/v1/portfolios/{pid}/holdings", json=body, headers=free.headers)
    error = assert_error(refused, 403, "TIER_LIMIT_EXCEEDED")
    assert error["details"]["limit"] == 20
    assert error["details"]["required_tier"] == "basic"
    assert (await detail(market, free, pid))["summary"]["holdings_count"] == 20
    # More of a stock already held is not a new holding.
    assert await holding(market, free.headers, pid, codes[0]) == 201
    basic = await make_account(market, "basic@example.com", tier=Tier.BASIC)
    pid = await new_portfolio(market, basic)
    for code in codes[:21]:
        assert await holding(market, basic.headers, pid, code) == 201


async def test_a_halted_stock_keeps_its_last_price_and_says_so(market: Live) -> None:
    me = await make_account(market, "halted@example.com")
    pid = await new_portfolio(market, me)
    snapshot = app_state(market.app).market_snapshot
    code = snapshot.table.codes[0]
    last_close = stock_detail(market.app, code)["latest_price"]["close_price"]
    assert await holding(market, me.headers, pid, code) == 201
    async with app_state(market.app).engine.begin() as connection:
        await connection.execute(update(Instrument).where(Instrument.code == code).values(status="halted"))
    await snapshot.load(app_state(market.app).engine)
    (held,) = (await detail(market, me, pid))["holdings"]
    assert held["price_status"] == "halted"
    assert held["current_price"] == last_close
    assert held["current_value"] == last_close
