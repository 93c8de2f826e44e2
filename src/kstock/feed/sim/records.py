"""What goes into the simulated market and what comes out of it: instruments, trades (체결), order books (호가),
minute and daily bars, and the record of one simulation step.

Prices and amounts are KRW integers; times are aware datetimes in Seoul (KST).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kstock.feed.sim.session import Phase
from kstock.kit.krx import Market

__all__ = ["DailyBar", "Instrument", "MinuteBar", "OrderBook", "Step", "Trade"]

Level = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the simulator needs to know about one listed stock."""

    code: str
    market: str  # "KOSPI" | "KOSDAQ" | "KONEX"
    previous_close: int  # KRW, the base price of the first simulated day
    shares_outstanding: int | None = None  # weights activity: large caps trade more

    def __post_init__(self) -> None:
        if self.market not in tuple(Market):
            raise ValueError(f"{self.code}: unknown market {self.market!r}")
        if self.previous_close <= 0:
            raise ValueError(f"{self.code}: previous close must be positive")
        if self.shares_outstanding is not None and self.shares_outstanding <= 0:
            raise ValueError(f"{self.code}: shares outstanding must be positive")


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
    """The ten best price levels on each side; fewer near a limit price or after a sweep."""

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
    """What one advance of the simulated clock produced, in time order."""

    trades: list[Trade]
    books: list[OrderBook]  # the latest book of every stock whose book changed
    minute_bars: list[MinuteBar]  # bars whose minute ended during the step
    daily_bars: list[DailyBar]  # bars of a day whose closing auction ran during the step
    phase: Phase
    now: dt.datetime
    day_started: dt.date | None  # the trading day that began during the step
