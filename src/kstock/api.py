"""Mounts each domain's router under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from kstock.errors import error_responses
from kstock.gateway.access import enforce_access, register_routes
from kstock.gateway.endpoints import router as gateway_router
from kstock.gateway.queryparams import reject_unknown_query
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
    """Include every domain router under ``/v1`` with the access dependency (rate limits, then route scopes),
    then the one that refuses unknown query parameters.

    Every /v1 route is rate-limited and checked against the route-scope table; the dependency also resolves the
    caller once for the whole request, so any operation may answer 401 (credentials sent but bad), 403 (a key
    without the route's scope) or 429. The routers are included one by one rather than
    through a parent ``/v1`` router: each level of nesting is another round of route matching per request.
    """
    for router in DOMAIN_ROUTERS:
        register_routes("/v1", router)
        app.include_router(
            router,
            prefix="/v1",
            dependencies=[Depends(enforce_access), Depends(reject_unknown_query)],
            responses=error_responses(401, 403, 429),
        )
