"""Mounts each domain's router under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from kstock.errors import error_responses
from kstock.gateway.endpoints import router as gateway_router
from kstock.gateway.queryparams import reject_unknown_query
from kstock.gateway.ratelimit import enforce_rate_limit
from kstock.identity.endpoints import router as identity_router
from kstock.market.endpoints import router as market_router
from kstock.portfolio.endpoints import router as portfolio_router
from kstock.screener.endpoints import router as screener_router
from kstock.trading.endpoints import router as trading_router

# Matched in order: the busiest (market data) first.
DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    market_router,
    screener_router,
    portfolio_router,
    trading_router,
    identity_router,
    gateway_router,
)


def mount_v1(app: FastAPI) -> None:
    """Include every domain router under ``/v1`` with the rate-limit dependency, then the one that refuses
    unknown query parameters.

    Every /v1 route is rate-limited; the dependency also resolves the caller once for the whole request, so any
    operation may answer 401 (credentials sent but bad) or 429. The routers are included one by one rather than
    through a parent ``/v1`` router: each level of nesting is another round of route matching per request.
    """
    for router in DOMAIN_ROUTERS:
        app.include_router(
            router,
            prefix="/v1",
            dependencies=[Depends(enforce_rate_limit), Depends(reject_unknown_query)],
            responses=error_responses(401, 429),
        )
