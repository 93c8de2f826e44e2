"""The market-source contract: what a source of market data produces (trades, ten-level order books, minute and
daily bars, each step's record, the session phase) and what it provides to the feed (:class:`Source`).

The simulator (:mod:`kstock.feed.sim`) implements it; consumers (the feed's payloads, paper trading, strategies)
import these records from here, never from an implementation. The KRX calendar and session hours behind
:class:`Phase` are :mod:`kstock.kit.calendar`.
"""

from kstock.sources.bars import BarBuilder
from kstock.sources.records import BOOK_LEVELS, DailyBar, Level, MinuteBar, OrderBook, Phase, Step, Trade
from kstock.sources.source import QuoteSource, Source

__all__ = [
    "BOOK_LEVELS",
    "BarBuilder",
    "DailyBar",
    "Level",
    "MinuteBar",
    "OrderBook",
    "Phase",
    "QuoteSource",
    "Source",
    "Step",
    "Trade",
]
