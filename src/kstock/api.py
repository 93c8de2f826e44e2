"""Mounts each domain's router under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from kstock.errors import error_responses
from kstock.gateway.endpoints import router as gateway_router
from kstock.gateway.ratelimit import enforce_rate_limit
from kstock.identity.endpoints import router as identity_router
from kstock.market.endpoints import router as market_router

# Every /v1 route is rate-limited; the dependency also resolves the caller once for the whole request, so any
# operation may answer 401 (credentials sent but bad) or 429.
v1 = APIRouter(prefix="/v1", dependencies=[Depends(enforce_rate_limit)], responses=error_responses(401, 429))
# Routes are matched in order: the busiest (market data) come first.
v1.include_router(market_router)
v1.include_router(identity_router)
v1.include_router(gateway_router)
