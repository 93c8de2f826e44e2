"""Dependencies of the market endpoints: the instance's snapshot and response cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kstock.kit.cache import ResponseCache
from kstock.market.snapshot import MarketSnapshot
from kstock.market.state import state_of


async def get_snapshot(request: Request) -> MarketSnapshot:
    return state_of(request).market_snapshot


async def get_response_cache(request: Request) -> ResponseCache:
    return state_of(request).response_cache


SnapshotDep = Annotated[MarketSnapshot, Depends(get_snapshot)]
ResponseCacheDep = Annotated[ResponseCache, Depends(get_response_cache)]
