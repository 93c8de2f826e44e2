"""``create_app(settings)``: the FastAPI application and the lifespan that owns its resources."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from kstock import __version__, openapi
from kstock.api import mount_v1
from kstock.config import Settings, get_settings
from kstock.db import migrate
from kstock.db.engine import create_engine, create_sessionmaker
from kstock.gateway.audit import audit_event
from kstock.gateway.compression import CompressionMiddleware
from kstock.gateway.docs import mount_docs
from kstock.gateway.errors import install_error_handlers
from kstock.gateway.limitstore import LimitStore
from kstock.gateway.metrics import metrics_route
from kstock.gateway.middleware import GatewayMiddleware
from kstock.gateway.ratelimit import RateLimiter
from kstock.gateway.redis import create_redis
from kstock.gateway.throttle import BruteForceGuard
from kstock.health import router as health_router
from kstock.identity.dependencies import IdentityCache
from kstock.identity.revocation import RevocationStore
from kstock.kit.cache import ResponseCache
from kstock.logging import configure_logging
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio.cache import PortfolioCache
from kstock.runtime import AppState
from kstock.state import install
from kstock.stream.endpoint import StreamRoute
from kstock.stream.runtime import stream_runtime
from kstock.trading import startup as trading_startup

log = structlog.get_logger("kstock.app")

# Each domain's check of its own settings, run with the configuration's checks before anything starts.
STARTUP_CHECKS: Final = (trading_startup.check_settings,)

# Response headers a browser script on an allowed origin may read.
CORS_EXPOSED_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
]

DESCRIPTION = """
Market data, screening, portfolios and paper trading for Korean equities (KOSPI, KOSDAQ, KONEX).

* KRW amounts are integers; prices are on the KRX tick grid.
* Lists are paged with `page` and `per_page` (at most 100) and carry `meta {page, per_page, total, pages}`.
* Every error has one body: `{error, message, details, timestamp, path, request_id}`;
  every response carries `X-Request-ID`.
"""


async def _check_schema(engine: AsyncEngine) -> bool:
    """True when the schema is current. A database that is down or behind does not stop the process: /ready
    reports it, and the snapshot's refresh loop loads the market once the database is back."""
    try:
        revision = await migrate.current_revision(engine)
    except Exception as exc:  # any driver error
        log.warning("database_unreachable_at_start", error=str(exc))
        return False
    if revision != migrate.head_revision():
        log.warning("schema_not_at_head", current=revision, head=migrate.head_revision())
        return False
    return True


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (from the environment when omitted).

    Nothing connects here: the lifespan builds the engine on start and disposes of it on shutdown.
    """
    settings = settings or get_settings()
    settings.use_development_secret()
    settings.check_for_startup(*STARTUP_CHECKS)
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        snapshot = MarketSnapshot()
        cache = ResponseCache(settings.cache_max_entries)
        snapshot.on_change(cache.clear)
        redis = create_redis(settings)
        limit_store = LimitStore(settings.redis_url, settings.redis_prefix, settings.rate_limit_redis_probe_s)
        state = AppState(
            settings=settings,
            started_at=time.time(),
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            market_snapshot=snapshot,
            response_cache=cache,
            portfolio_cache=PortfolioCache(),
            redis=redis,
            revocations=RevocationStore(redis, settings.redis_prefix),
            identity_cache=IdentityCache(),
            limit_store=limit_store,
            rate_limiter=RateLimiter(settings, limit_store),
            throttle=BruteForceGuard(settings, limit_store),
            audit=audit_event,  # identity records its events through it
        )
        install(app, state)  # the one place the state is stored: every part reaches it with kstock.state.state_of
        refresher: asyncio.Task[None] | None = None
        # Requests allocate many short-lived objects; the default gen-0 threshold (700) runs a collection every
        # few requests and shows up as tail latency. Reference counting frees almost all of them anyway.
        gc.set_threshold(50_000, 20, 20)
        try:
            if await _check_schema(engine):
                await snapshot.load(engine)
            if settings.snapshot_refresh_s > 0:
                refresher = asyncio.create_task(snapshot.run_refresh_loop(engine, settings.snapshot_refresh_s))
            async with stream_runtime(app, settings, engine, snapshot, state.sessionmaker):
                yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            await limit_store.close()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        # The gateway keeps its own metrics and request ids; OpenTelemetry's per-request hooks would only add cost.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="kstock",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is served from a packaged copy of Swagger UI (mount_docs), so it renders with no internet access.
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "stocks", "description": "Instruments, prices, financials"},
            {"name": "trading", "description": "Paper trading: accounts, two-step orders, risk and strategies"},
            {"name": "health", "description": "Probes for load balancers and orchestrators"},
        ],
    )
    install_error_handlers(app)
    # Innermost first: compression, then CORS, then the gateway around both, so that compressed answers and
    # preflights get the request id, the limiter's headers and their access-log line like any other.
    if settings.compression_min_bytes > 0:
        app.add_middleware(CompressionMiddleware, minimum_size=settings.compression_min_bytes)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    # One middleware for the whole gateway (request id, body limit, response headers, rate-limit headers, audit,
    # metrics, access log): one wrapper of send and receive per request instead of one per concern.
    app.add_middleware(GatewayMiddleware, max_body_bytes=settings.max_body_bytes, access_log=settings.access_log)
    # Routes are matched in order: the API first, the probes and /metrics after it.
    mount_v1(app)
    app.add_middleware(StreamRoute)  # outermost: /ws/stocks skips the HTTP middleware and the router
    app.include_router(health_router)
    if settings.metrics_on_api_port:
        app.add_route("/metrics", metrics_route(settings.metrics_token), include_in_schema=False)
    elif settings.metrics_enabled and settings.metrics_port is None:
        log.warning("metrics_not_served", reason="set KSTOCK_METRICS_TOKEN or KSTOCK_METRICS_PORT in production")
    if settings.docs_on:
        mount_docs(app)
    openapi.install(app)  # the document says what the server really does (kstock/openapi.py)
    return app


def create_app_from_env() -> ASGIApp:
    """Factory for ``uvicorn --factory`` and ``kstock serve``: the application with the stream in front of it."""
    return StreamRoute(create_app(get_settings()))
