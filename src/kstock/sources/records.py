"""What a market source produces and its consumers read: trades (체결), order books (호가) of ten levels a side,
minute and daily bars, the record of one step of the source, and the session phase each carries.

Prices and amounts are KRW integers; times are aware datetimes in Seoul (KST).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from kstock.kit.calendar import Phase

__all__ = ["BOOK_LEVELS", "DailyBar", "Level", "MinuteBar", "OrderBook", "Phase", "Step", "Trade"]

BOOK_LEVELS: Final = 10
"""Price levels an order book shows on each side, at most."""

Level = tuple[int, int]
"""(price, quantity) of one level of a book."""


@dataclass(frozen=True, slots=True)
class Trade:
    """One print on the tape."""

    code: str
    price: int
    quantity: int
    volume: int  # cumulative shares traded today, this trade included
    turnover: int  # cumulative KRW traded today, this trade included
    change: int  # price - base price (the previous close)
    change_pct: float  # 100 * change / base, two decimals
    time: dt.datetime
    phase: Phase  # continuous, or the auction that produced the print (pre_open at 09:00, closing_auction at 15:30)


@dataclass(frozen=True, slots=True)
class OrderBook:
    """The :data:`BOOK_LEVELS` (ten) best price levels on each side; fewer near a limit price or after a sweep."""

    code: str
    asks: tuple[Level, ...]  # (price, quantity), lowest first
    bids: tuple[Level, ...]  # (price, quantity), highest first
    time: dt.datetime
    phase: Phase
    expected_price: int | None = None  # the indicative auction price (예상체결가) during call auctions
    halted: bool = False  # trading suspended: the book is frozen


@dataclass(frozen=True, slots=True)
class MinuteBar:
    """OHLCV of one stock over the minute that starts at ``start``."""

    code: str
    start: dt.datetime
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover: int


@dataclass(frozen=True, slots=True)
class DailyBar:
    """OHLCV of one stock over one trading day; the close is the closing auction print when there was one."""

    code: str
    trade_date: dt.date
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover: int


@dataclass(frozen=True, slots=True)
class Step:
    """What one advance of the source's clock produced, in time order."""

    trades: list[Trade]
    books: list[OrderBook]  # the latest book of every stock whose book changed
    minute_bars: list[MinuteBar]  # bars whose minute ended during the step
    daily_bars: list[DailyBar]  # bars of a day whose closing auction ran during the step
    phase: Phase
    now: dt.datetime
    day_started: dt.date | None  # the trading day that began during the step
