"""The simulated market clock: wall time (``time.monotonic``) mapped to market time in Seoul at a speed factor.

In demo mode the clock only ever shows session time: it starts at ``start`` (moved to 09:00 of the next trading
day when ``start`` is outside a session) and runs at ``speed`` through the day; when the day reaches 15:30 it jumps
to 08:55 of the next trading day, five minutes before the opening auction, so every trading day plays from the end
of its pre-open to its close (6 h 35 min of market time: about 6.5 minutes of wall time at speed 60) and nights,
weekends and holidays take no wall time. Whoever looks sees pre-open, continuous trading or the closing auction,
never a closed market. A simulator advanced to these times runs the closing auction and the next day's start as
it crosses the jump.

Outside demo mode the clock is ``start`` plus the elapsed wall time times ``speed`` on the real calendar: nights,
weekends and holidays are closed. ``SimClock.realtime()`` is the real KST wall clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Final

from kstock.kit.calendar import CLOSE, KST, OPEN, PRE_OPEN, is_trading_day, next_trading_day, session_time

__all__ = ["DEMO_DAY_START", "SimClock"]

DEMO_DAY_START: Final = dt.time(8, 55)
_DEMO_DAY_US: Final = (
    dt.datetime.combine(dt.date.min, CLOSE) - dt.datetime.combine(dt.date.min, DEMO_DAY_START)
) // dt.timedelta(microseconds=1)


class SimClock:
    """Simulated market time at ``speed`` times the wall clock; see the module docstring for demo mode."""

    def __init__(
        self,
        start: dt.datetime,
        speed: float,
        *,
        demo: bool,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware start")
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.demo = demo
        self._monotonic = monotonic
        self._origin = monotonic()
        self.start = _demo_start(start.astimezone(KST)) if demo else start.astimezone(KST)
        self._cursor = (0, self.start.date())  # (n, the demo's n-th trading day), moved forward as time goes
        self._first_day_us = (session_time(self.start.date(), CLOSE) - self.start) // dt.timedelta(microseconds=1)

    @classmethod
    def realtime(cls) -> SimClock:
        """The real KST wall clock."""
        return cls(dt.datetime.now(KST), 1.0, demo=False)

    def now(self) -> dt.datetime:
        """Simulated market time now."""
        return self.at(self._monotonic() - self._origin)

    def at(self, elapsed: float) -> dt.datetime:
        """Simulated market time ``elapsed`` wall seconds after the clock was created (non-decreasing)."""
        total = max(round(elapsed * self.speed * 1_000_000), 0)
        if not self.demo or total < self._first_day_us:
            return self.start + dt.timedelta(microseconds=total)
        days, offset = divmod(total - self._first_day_us, _DEMO_DAY_US)
        return session_time(self._day(days + 1), DEMO_DAY_START) + dt.timedelta(microseconds=offset)

    def _day(self, index: int) -> dt.date:
        position, day = self._cursor if self._cursor[0] <= index else (0, self.start.date())
        while position < index:
            position, day = position + 1, next_trading_day(day)
        self._cursor = (position, day)
        return day


def _demo_start(start: dt.datetime) -> dt.datetime:
    """``start`` when it falls inside a session, else 09:00 of the next trading day (``start``'s own day if it is
    a trading day and ``start`` is before its pre-open)."""
    day = start.date()
    if is_trading_day(day):
        if session_time(day, PRE_OPEN) <= start < session_time(day, CLOSE):
            return start
        if start < session_time(day, PRE_OPEN):
            return session_time(day, OPEN)
    return session_time(next_trading_day(day), OPEN)
