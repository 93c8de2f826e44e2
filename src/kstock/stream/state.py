"""What the stream reads from the application state (``kstock.runtime.AppState``), and what its runtime sets
there once it has started (the broker, the hub and, under ``serve --demo``, the feed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from redis.asyncio import Redis
from starlette.types import ASGIApp

from kstock import state as app_state
from kstock.broker.base import Broker
from kstock.gateway.throttle import BruteForceGuard
from kstock.identity.dependencies import IdentityCache
from kstock.portfolio.cache import PortfolioCache

if TYPE_CHECKING:
    from kstock.feed.runner import FeedRunner
    from kstock.stream.hub import Hub


class StreamState(Protocol):
    @property
    def redis(self) -> Redis | None: ...

    @property
    def portfolio_cache(self) -> PortfolioCache: ...

    @property
    def identity_cache(self) -> IdentityCache: ...

    @property
    def throttle(self) -> BruteForceGuard: ...

    broker: Broker | None
    hub: Hub | None
    feed: FeedRunner | None


state_of_app: Final[Callable[[ASGIApp], StreamState]] = app_state.state_of_app
find_state_of_app: Final[Callable[[ASGIApp], StreamState | None]] = app_state.find_state_of_app
