"""Session times on the simulator's time line: integer microseconds since the Unix epoch.

The simulator counts time in microseconds so that event times can be drawn and sorted as integer arrays;
:class:`SessionDay` gives a calendar day in Seoul its session boundaries on that line and converts back to aware
datetimes in KST.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from kstock.kit.calendar import (
    CLOSE,
    CLOSING_AUCTION,
    OPEN,
    PRE_OPEN,
    Phase,
    is_trading_day,
    next_trading_day,
    session_time,
)

__all__ = ["SECOND", "SessionDay", "day_of", "micros", "next_boundary"]

SECOND: Final = 1_000_000
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DATE: Final = dt.date(1970, 1, 1)
_DAY: Final = 86_400 * SECOND
_KST_OFFSET: Final = 9 * 3_600 * SECOND  # Korea has kept no daylight saving time since 1988


def micros(moment: dt.datetime) -> int:
    """An aware datetime on the time line."""
    if moment.tzinfo is None:
        raise ValueError("simulated time must be timezone-aware")
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SessionDay:
    """One calendar day in Seoul with its session boundaries on the time line."""

    date: dt.date
    trading: bool
    midnight: int
    midnight_kst: dt.datetime
    pre_open: int
    open: int
    closing_auction: int
    close: int

    def phase(self, t: int) -> Phase:
        """:func:`kstock.kit.calendar.session_phase` for an instant of this day."""
        if not self.trading or t < self.pre_open or t >= self.close:
            return Phase.CLOSED
        if t < self.open:
            return Phase.PRE_OPEN
        return Phase.CONTINUOUS if t < self.closing_auction else Phase.CLOSING_AUCTION

    def moment(self, t: int) -> dt.datetime:
        """An instant of this day as an aware datetime in KST."""
        return self.midnight_kst + dt.timedelta(microseconds=t - self.midnight)


@lru_cache(maxsize=64)
def _day(number: int) -> SessionDay:
    date = _EPOCH_DATE + dt.timedelta(days=number)
    times = [micros(session_time(date, clock)) for clock in (PRE_OPEN, OPEN, CLOSING_AUCTION, CLOSE)]
    midnight = number * _DAY - _KST_OFFSET
    return SessionDay(date, is_trading_day(date), midnight, session_time(date, dt.time()), *times)


def day_of(t: int) -> SessionDay:
    """The day in Seoul that contains ``t``."""
    return _day((t + _KST_OFFSET) // _DAY)


def next_boundary(t: int) -> int:
    """The first session boundary after ``t``: a phase change today or the next trading day's pre-open."""
    day = day_of(t)
    if day.trading:
        for boundary in (day.pre_open, day.open, day.closing_auction, day.close):
            if boundary > t:
                return boundary
    return micros(session_time(next_trading_day(day.date), PRE_OPEN))
