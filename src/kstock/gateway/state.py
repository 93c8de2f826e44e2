"""What the gateway reads from the application state (``kstock.runtime.AppState``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

from kstock import state as app_state

if TYPE_CHECKING:
    from kstock.gateway.ratelimit import RateLimiter


class GatewayState(Protocol):
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...


state_of: Final[Callable[[HTTPConnection], GatewayState]] = app_state.state_of
state_of_app: Final[Callable[[ASGIApp], GatewayState]] = app_state.state_of_app
