"""The per-instance portfolio cache: repeated reads skip the database, every write is seen at once by its writer
and within moments by other instances, prices move the rendered detail, and nobody else is ever served."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from contextlib import AsyncExitStack

from kstock.market.table import Tick
from kstock.portfolio.cache import PortfolioCache
from tests.portfolio.helpers import detail, new_portfolio, trade
from tests.support.accounts import make_account
from tests.support.app import Live, app_state, running
from tests.support.databases import REDIS_URL, DatabaseFactory
from tests.support.seed import seed_market

SAMSUNG = "005930"
DAY = "2025-01-10"


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache = PortfolioCache()
    portfolio_id, user_id = uuid.uuid4(), uuid.uuid4()
    generation = cache.generation(portfolio_id)  # a read starts
    cache.invalidate(portfolio_id)  # a write commits meanwhile
    cache.put(portfolio_id, user_id, {}, [], generation)  # the read finishes with what it saw before
    assert cache.get(portfolio_id, user_id) is None
    cache.put(portfolio_id, user_id, {}, [], cache.generation(portfolio_id))
    assert cache.get(portfolio_id, user_id) is not None
    assert cache.get(portfolio_id, uuid.uuid4()) is None  # another user never gets the entry


async def test_repeated_reads_are_served_from_the_cache_and_writes_are_seen(live: Live) -> None:
    owner = await make_account(live, f"cache-{uuid.uuid4().hex[:6]}@example.com")
    other = await make_account(live, f"other-{uuid.uuid4().hex[:6]}@example.com")
    portfolio_id = await new_portfolio(live, owner)
    await trade(live, owner, portfolio_id, side="buy", stock_code=SAMSUNG, quantity=10, price=54_000, trade_date=DAY)
    cache: PortfolioCache = app_state(live.app).portfolio_cache
    first = await detail(live, owner, portfolio_id)
    hits = cache.hits
    assert await detail(live, owner, portfolio_id) == first
    assert cache.hits == hits + 1
    # Another user: 404 even though the owner's copy is cached.
    response = await live.http.get(f"/v1/portfolios/{portfolio_id}", headers=other.headers)
    assert response.status_code == 404
    # The owner's write is seen by the owner's next read.
    await trade(live, owner, portfolio_id, side="buy", stock_code=SAMSUNG, quantity=5, price=54_000, trade_date=DAY)
    after = await detail(live, owner, portfolio_id)
    assert after["holdings"][0]["quantity"] == 15
    assert after["summary"]["total_purchase_value"] == 15 * 54_000
    # A price move re-values the cached holdings.
    app_state(live.app).market_snapshot.apply_ticks([Tick(SAMSUNG, 60_000, dt.date(2025, 1, 10))])
    moved = await detail(live, owner, portfolio_id)
    assert moved["holdings"][0]["current_value"] == 15 * 60_000


async def test_a_write_on_one_instance_reaches_the_cache_of_another(db_factory: DatabaseFactory) -> None:
    prefix = f"kstock-test:{uuid.uuid4().hex[:8]}:"
    settings = await db_factory.settings("portfolio_cache_instances", snapshot_refresh_s=0)
    settings = settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    await seed_market(settings)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(settings))
        second = await stack.enter_async_context(running(settings))
        owner = await make_account(first, "two-instances@example.com")
        portfolio_id = await new_portfolio(first, owner)
        buy = {"side": "buy", "stock_code": SAMSUNG, "price": 54_000, "trade_date": DAY}
        await trade(first, owner, portfolio_id, quantity=1, **buy)
        assert (await detail(second, owner, portfolio_id))["holdings"][0]["quantity"] == 1  # now cached there
        await trade(first, owner, portfolio_id, quantity=2, **buy)
        for _ in range(100):
            if (await detail(second, owner, portfolio_id))["holdings"][0]["quantity"] == 3:
                break
            await asyncio.sleep(0.01)
        assert (await detail(second, owner, portfolio_id))["holdings"][0]["quantity"] == 3
