"""What the portfolio endpoints read from the application state (``kstock.runtime.AppState``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from starlette.requests import HTTPConnection

from kstock import state as app_state
from kstock.broker.base import Broker
from kstock.config import Settings
from kstock.portfolio.cache import PortfolioCache


class PortfolioState(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def broker(self) -> Broker | None: ...

    @property
    def portfolio_cache(self) -> PortfolioCache: ...


state_of: Final[Callable[[HTTPConnection], PortfolioState]] = app_state.state_of
