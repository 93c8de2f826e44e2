"""The KRX trading calendar and its regular session, in Seoul time.

Trading days are the weekdays that are not exchange holidays. Holidays come from the ``holidays`` package's XKRX
(Korea Exchange) calendar, which includes the year-end closure and ad-hoc closures such as election days and
temporary public holidays.

A trading day runs a pre-open call auction from 08:30 to 09:00 (orders accumulate, nothing trades), a
single-price opening auction at 09:00, continuous trading from 09:00 to 15:20, a closing call auction from 15:20
to 15:30 and a single-price closing auction at 15:30 that sets the close. After-hours trading is treated as
closed, and so are weekends and exchange holidays.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays

KST = ZoneInfo("Asia/Seoul")

PRE_OPEN: Final = dt.time(8, 30)
OPEN: Final = dt.time(9, 0)
CLOSING_AUCTION: Final = dt.time(15, 20)
CLOSE: Final = dt.time(15, 30)
CONTINUOUS_SECONDS: Final = 6 * 3600 + 20 * 60  # 09:00 to 15:20


class Phase(StrEnum):
    """Where the market is in its day."""

    PRE_OPEN = "pre_open"
    CONTINUOUS = "continuous"
    CLOSING_AUCTION = "closing_auction"
    CLOSED = "closed"


@lru_cache(maxsize=64)
def _holidays_for_year(year: int) -> frozenset[dt.date]:
    calendar = holidays.financial_holidays("XKRX", years=year)
    return frozenset(calendar.keys())


def is_holiday(day: dt.date) -> bool:
    """True when KRX is closed on a weekday for a holiday."""
    return day in _holidays_for_year(day.year)


def is_trading_day(day: dt.date) -> bool:
    """True when KRX holds a regular session on ``day``."""
    return day.weekday() < 5 and not is_holiday(day)


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every trading day in ``[start, end]``, ascending."""
    days: list[dt.date] = []
    day = start
    one = dt.timedelta(days=1)
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += one
    return days


def previous_trading_day(day: dt.date, *, inclusive: bool = True) -> dt.date:
    """The last trading day on or before ``day`` (strictly before when ``inclusive`` is false)."""
    one = dt.timedelta(days=1)
    if not inclusive:
        day -= one
    while not is_trading_day(day):
        day -= one
    return day


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day strictly after ``day``."""
    one = dt.timedelta(days=1)
    day += one
    while not is_trading_day(day):
        day += one
    return day


def today_kst() -> dt.date:
    """Today's date in Seoul."""
    return dt.datetime.now(KST).date()


def session_phase(now: dt.datetime) -> Phase:
    """The phase of the KRX regular session at an aware instant; non-trading days are closed all day."""
    if now.tzinfo is None:
        raise ValueError("session_phase needs a timezone-aware datetime")
    local = now.astimezone(KST)
    if not is_trading_day(local.date()):
        return Phase.CLOSED
    clock = local.time().replace(tzinfo=None)
    if clock < PRE_OPEN or clock >= CLOSE:
        return Phase.CLOSED
    if clock < OPEN:
        return Phase.PRE_OPEN
    if clock < CLOSING_AUCTION:
        return Phase.CONTINUOUS
    return Phase.CLOSING_AUCTION


def session_time(day: dt.date, clock: dt.time) -> dt.datetime:
    """``clock`` on ``day`` in Seoul, as an aware datetime."""
    return dt.datetime.combine(day, clock, tzinfo=KST)
