"""Dependencies of the market endpoints: the instance's snapshot and response cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kstock.kit.cache import ResponseCache
from kstock.market.snapshot import MarketSnapshot


async def get_snapshot(request: Request) -> MarketSnapshot:
    snapshot: MarketSnapshot = request.app.state.market_snapshot
    return snapshot


async def get_response_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.response_cache
    return cache


SnapshotDep = Annotated[MarketSnapshot, Depends(get_snapshot)]
ResponseCacheDep = Annotated[ResponseCache, Depends(get_response_cache)]
