"""Minute and daily bars built from the tape, the same for every source.

:class:`BarBuilder` takes trades in time order and turns them into one-minute OHLCV bars per stock (a minute
``[hh:mm:00, hh:mm+1:00)``; the 15:30 closing print makes a 15:30 bar) and, at the close, one daily bar per stock
that traded. A minute bar is complete once the clock has reached the end of its minute; the daily flush completes
every bar still open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from kstock.sources.records import DailyBar, MinuteBar, Trade

__all__ = ["BarBuilder"]

_MINUTE: Final = dt.timedelta(minutes=1)


class _Ohlcv:
    __slots__ = ("close", "high", "low", "open", "turnover", "volume")

    def __init__(self, price: int, quantity: int) -> None:
        self.open = self.high = self.low = self.close = price
        self.volume = quantity
        self.turnover = price * quantity

    def add(self, price: int, quantity: int) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += quantity
        self.turnover += price * quantity


class BarBuilder:
    """Aggregates trades into minute bars and daily bars for one session at a time."""

    def __init__(self) -> None:
        # Open minute bars by minute start, oldest first (trades arrive in time order).
        self._minutes: dict[dt.datetime, dict[str, _Ohlcv]] = {}
        self._days: dict[str, _Ohlcv] = {}

    def add(self, trade: Trade) -> None:
        """Account one trade; trades must come in time order."""
        start = trade.time.replace(second=0, microsecond=0)
        minute = self._minutes.get(start)
        if minute is None:
            minute = self._minutes[start] = {}
        bar = minute.get(trade.code)
        if bar is None:
            minute[trade.code] = _Ohlcv(trade.price, trade.quantity)
        else:
            bar.add(trade.price, trade.quantity)
        day = self._days.get(trade.code)
        if day is None:
            self._days[trade.code] = _Ohlcv(trade.price, trade.quantity)
        else:
            day.add(trade.price, trade.quantity)

    def add_all(self, trades: Iterable[Trade]) -> None:
        for trade in trades:
            self.add(trade)

    def roll(self, now: dt.datetime) -> list[MinuteBar]:
        """Minute bars whose minute has ended by ``now``, oldest first."""
        done: list[MinuteBar] = []
        while self._minutes:
            start = next(iter(self._minutes))
            if start + _MINUTE > now:
                break
            done.extend(_minute_bars(start, self._minutes.pop(start)))
        return done

    def close_day(self, trade_date: dt.date) -> tuple[list[MinuteBar], list[DailyBar]]:
        """Complete the session: every open minute bar, and a daily bar per stock that traded."""
        minutes: list[MinuteBar] = []
        for start, bars in self._minutes.items():
            minutes.extend(_minute_bars(start, bars))
        days = [
            DailyBar(code, trade_date, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.turnover)
            for code, bar in self._days.items()
        ]
        self._minutes.clear()
        self._days.clear()
        return minutes, days


def _minute_bars(start: dt.datetime, bars: dict[str, _Ohlcv]) -> list[MinuteBar]:
    return [
        MinuteBar(code, start, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.turnover)
        for code, bar in bars.items()
    ]
