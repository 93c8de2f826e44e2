"""What the market reads from the application state (``kstock.runtime.AppState``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from starlette.requests import HTTPConnection

from kstock import state as app_state
from kstock.config import Settings
from kstock.kit.cache import ResponseCache

if TYPE_CHECKING:
    from kstock.market.snapshot import MarketSnapshot


class MarketState(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def market_snapshot(self) -> MarketSnapshot: ...

    @property
    def response_cache(self) -> ResponseCache: ...


state_of: Final[Callable[[HTTPConnection], MarketState]] = app_state.state_of
