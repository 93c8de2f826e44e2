"""The KRX regular session: its phases and their times in Seoul.

A trading day runs a pre-open call auction from 08:30 to 09:00 (orders accumulate, nothing trades), a
single-price opening auction at 09:00, continuous trading from 09:00 to 15:20, a closing call auction from 15:20
to 15:30 and a single-price closing auction at 15:30 that sets the close. After-hours trading is modelled as
closed, and so are weekends and exchange holidays.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from kstock.kit.calendar import KST, is_trading_day

__all__ = [
    "CLOSE",
    "CLOSING_AUCTION",
    "CONTINUOUS_SECONDS",
    "OPEN",
    "PRE_OPEN",
    "Phase",
    "next_trading_day",
    "session_phase",
    "session_time",
]

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


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day strictly after ``day``."""
    one = dt.timedelta(days=1)
    day += one
    while not is_trading_day(day):
        day += one
    return day
