"""The stream's resources in an API process: the broker, the hub, live P&L and, under ``serve --demo``, the feed.

Built in the application's lifespan (nothing connects at import time) and set on the application state.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from kstock.broker import create_broker
from kstock.config import Settings
from kstock.identity.dependencies import IdentityCache, recheck_principal
from kstock.identity.principal import Principal
from kstock.identity.revocation import Ended
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio.cache import PortfolioCache
from kstock.stream import metrics
from kstock.stream.accounts import AccountWatcher
from kstock.stream.budget import StreamBudget
from kstock.stream.hub import Hub
from kstock.stream.portfolios import PortfolioWatcher
from kstock.stream.state import state_of_app


def _invalidate(cache: PortfolioCache, raw_id: str) -> None:
    try:
        cache.invalidate(uuid.UUID(raw_id))
    except ValueError:  # not a portfolio id: nothing of ours
        return


def _forget(cache: IdentityCache, ended: Ended) -> None:
    """Another instance (or this one) ended a credential: this instance's cached records of it go at once."""
    if ended.keys or ended.all_sessions:
        cache.forget_user(ended.user_id)
    if ended.key_prefix is not None:
        cache.forget_key_prefix(ended.key_prefix)


@contextlib.asynccontextmanager
async def stream_runtime(
    app: FastAPI, settings: Settings, engine: AsyncEngine, snapshot: MarketSnapshot, sessionmaker: Any
) -> AsyncIterator[Hub]:
    broker = create_broker(settings.redis_url, prefix=settings.redis_prefix)
    await broker.start()
    hub = Hub(broker, snapshot, settings)
    state = state_of_app(app)
    hub.budget = StreamBudget(state.redis, settings.redis_prefix)
    metrics.track(hub)
    hub.portfolios = PortfolioWatcher(sessionmaker, snapshot)
    hub.portfolio_listeners.append(hub.portfolios.changed)
    hub.accounts = AccountWatcher(sessionmaker, snapshot, broker)
    cache, identity_cache = state.portfolio_cache, state.identity_cache
    hub.portfolio_listeners.append(lambda portfolio_id: _invalidate(cache, portfolio_id))
    hub.revocation_listeners.append(lambda ended: _forget(identity_cache, ended))
    app_connection = HTTPConnection({"type": "websocket", "app": app, "headers": []})

    async def recheck(principal: Principal) -> None:
        await recheck_principal(app_connection, principal)

    hub.recheck = recheck
    state.broker = broker
    state.hub = hub
    state.feed = None
    feed_task: asyncio.Task[None] | None = None
    try:
        await hub.start()
        await hub.budget.start()
        if settings.feed == "simulator":
            from kstock.feed.runner import FeedRunner

            feed = await FeedRunner.from_database(engine, broker, settings)
            feed.attach_trading(settings)
            state.feed = feed
            feed_task = asyncio.create_task(feed.run(), name="feed")
        yield hub
    finally:
        if feed_task is not None:
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed_task
        await hub.budget.stop()
        await hub.stop()
        await broker.close()
