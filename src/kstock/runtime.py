"""The application's state: every resource the lifespan builds, in one typed container.

``app.py`` builds one :class:`AppState` per running application and stores it once (``kstock.state.install``);
endpoints, dependencies and services reach it with ``kstock.state.state_of``. Each part types that accessor with a
Protocol of its own naming what it reads (its view), so no part imports this module; :func:`_views` makes mypy
check that the container is every view.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kstock.broker.base import Broker
from kstock.config import Settings
from kstock.db.session import DbState
from kstock.gateway.limitstore import LimitStore
from kstock.gateway.ratelimit import RateLimiter
from kstock.gateway.state import GatewayState
from kstock.gateway.throttle import BruteForceGuard
from kstock.identity.dependencies import IdentityCache
from kstock.identity.revocation import RevocationStore
from kstock.identity.state import AuditRecorder, IdentityState
from kstock.kit.cache import ResponseCache
from kstock.market.snapshot import MarketSnapshot
from kstock.market.state import MarketState
from kstock.portfolio.cache import PortfolioCache
from kstock.portfolio.state import PortfolioState
from kstock.stream.hub import Hub
from kstock.stream.state import StreamState
from kstock.trading.state import TradingState

if TYPE_CHECKING:
    from kstock.feed.runner import FeedRunner


@dataclasses.dataclass(slots=True, kw_only=True)
class AppState:
    """One running application's resources. The stream's runtime sets the last three once it has started."""

    settings: Settings
    started_at: float  # time.time() at start: the instance's uptime
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    market_snapshot: MarketSnapshot
    response_cache: ResponseCache  # rendered price histories, cleared when the snapshot reloads
    portfolio_cache: PortfolioCache
    redis: Redis | None  # None without KSTOCK_REDIS_URL
    revocations: RevocationStore
    identity_cache: IdentityCache
    limit_store: LimitStore
    rate_limiter: RateLimiter
    throttle: BruteForceGuard
    audit: AuditRecorder  # the gateway's audit_event: identity records its events through it
    broker: Broker | None = None
    hub: Hub | None = None
    feed: FeedRunner | None = None  # the simulator under ``serve --demo``


def _views(
    state: AppState,
) -> tuple[DbState, IdentityState, GatewayState, MarketState, PortfolioState, TradingState, StreamState]:
    """Never called: mypy checks here that the one state is what every part says it reads."""
    return (state, state, state, state, state, state, state)
