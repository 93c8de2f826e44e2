"""The KRX trading calendar: weekdays that are not exchange holidays.

Holidays come from the ``holidays`` package's XKRX (Korea Exchange) calendar, which includes the year-end
closure and ad-hoc closures such as election days and temporary public holidays.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

KST = ZoneInfo("Asia/Seoul")


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


def today_kst() -> dt.date:
    """Today's date in Seoul."""
    return dt.datetime.now(KST).date()
