"""What a market source provides: the feed runner drives a :class:`Source`, and the paper-trading engine beside it
prices strategy signals against a :class:`QuoteSource`. The simulator (:class:`kstock.feed.sim.Simulator`) is one.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from kstock.kit.calendar import Phase
from kstock.sources.records import OrderBook, Step, Trade

__all__ = ["QuoteSource", "Source"]


class Source(Protocol):
    """A market the feed runner steps on its clock and publishes."""

    @property
    def phase(self) -> Phase:
        """The session phase now (in the feed's status)."""
        ...

    def advance(self, now: dt.datetime) -> Step:
        """Everything that happened up to ``now`` since the last call: trades in time order, the books that changed,
        the minute bars whose minute ended and the daily bars of a day that closed."""
        ...


class QuoteSource(Source, Protocol):
    """A source the paper-trading engine beside the feed can price an order against."""

    @property
    def now(self) -> dt.datetime:
        """The source's market time (aware)."""
        ...

    def book(self, code: str) -> OrderBook:
        """The stock's current book."""
        ...

    def last_trade(self, code: str) -> Trade | None:
        """The stock's latest print, possibly from an earlier day; None before its first."""
        ...

    def base_price(self, code: str) -> int:
        """The stock's base price today (the previous close): the centre of its daily price band."""
        ...
