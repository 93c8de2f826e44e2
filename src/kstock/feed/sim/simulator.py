"""A simulated KRX market: feed it an advancing clock and it returns the tape, the books and the bars.

:class:`Simulator` runs the KRX regular session on the real trading calendar: on each trading day it quotes
books from 08:30, prints the opening auction at 09:00, trades continuously until 15:20, prints the closing auction
at 15:30 and stays closed until the next trading day, when the close becomes the new base price. Every
:meth:`Simulator.advance` moves the simulated time forward and returns a :class:`Step` with the trades, the books
that changed, the minute bars whose minute ended and the daily bars of a day that closed. A day joined after 09:00
(the start time falls inside continuous trading) has no opening auction: its first trade opens it.

Deterministic: the same instruments, seed, activity and sequence of ``advance`` times give the same steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.feed.sim.book import LEVELS
from kstock.feed.sim.engine import Engine, Prints
from kstock.feed.sim.grid import prices_at
from kstock.feed.sim.instrument import Instrument
from kstock.feed.sim.timeline import day_of, micros, next_boundary
from kstock.kit.calendar import KST, Phase
from kstock.kit.numbers import rounded
from kstock.sources import BarBuilder, DailyBar, Level, MinuteBar, OrderBook, Step, Trade

__all__ = ["Simulator", "simulate"]

Ints = npt.NDArray[np.int64]

_OPENING_FLOW: Final = 60.0  # seconds of order flow matched by the opening auction
_CLOSING_FLOW: Final = 180.0
_AUCTION_PACE: Final = 0.5  # book updates in a call auction, relative to continuous trading


@dataclass(slots=True)
class _Output:
    trades: list[Trade] = field(default_factory=list)
    changed: list[Ints] = field(default_factory=list)
    minute_bars: list[MinuteBar] = field(default_factory=list)
    daily_bars: list[DailyBar] = field(default_factory=list)
    day_started: dt.date | None = None


class Simulator:
    """The simulated market of ``instruments`` from ``start``; ``activity`` scales how often stocks trade."""

    def __init__(
        self, instruments: Sequence[Instrument], *, seed: int, start: dt.datetime, activity: float = 1.0
    ) -> None:
        if not instruments:
            raise ValueError("the simulator needs at least one instrument")
        if activity <= 0:
            raise ValueError("activity must be positive")
        self._codes = [i.code for i in instruments]
        self._row = {code: row for row, code in enumerate(self._codes)}
        if len(self._row) != len(self._codes):
            raise ValueError("instrument codes must be unique")
        self._engine = Engine(instruments, np.random.default_rng(seed), activity=activity)
        self._bars = BarBuilder()
        self._last: list[Trade | None] = [None] * len(self._codes)
        self._base: list[int] = []
        self._t = micros(start)
        self._trade_date: dt.date | None = None
        self._open_pending = False
        self._closed = True
        self._pending = _Output()
        self._engine.start_day()  # books around the previous close until the first trading day starts
        self._boundary(self._t, self._pending)

    @property
    def now(self) -> dt.datetime:
        return day_of(self._t).moment(self._t)

    @property
    def phase(self) -> Phase:
        return day_of(self._t).phase(self._t)

    @property
    def trade_date(self) -> dt.date | None:
        """The trading day in progress or last closed (None before the first one starts)."""
        return self._trade_date

    @property
    def codes(self) -> list[str]:
        return list(self._codes)

    def advance(self, now: dt.datetime) -> Step:
        """Move the simulated time forward to ``now`` and return everything that happened in between."""
        target = micros(now)
        if target < self._t:
            raise ValueError("simulated time cannot go backwards")
        out, self._pending = self._pending, _Output()
        t = self._t
        while True:
            self._boundary(t, out)
            if t >= target:
                break
            end = min(target, next_boundary(t))
            day = day_of(t)
            phase = day.phase(t)
            if day.date == self._trade_date and not self._closed:
                if phase is Phase.CONTINUOUS:
                    prints, changed = self._engine.continuous(t, end)
                    self._emit(prints, Phase.CONTINUOUS, out)
                    out.changed.append(changed)
                elif phase is not Phase.CLOSED:
                    out.changed.append(self._engine.auction_quotes(t, end, _AUCTION_PACE))
            t = end
            out.minute_bars.extend(self._bars.roll(day_of(t).moment(t)))
        self._t = target
        rows = np.unique(np.concatenate(out.changed)) if out.changed else np.zeros(0, dtype=np.int64)
        return Step(
            trades=out.trades,
            books=self._books(rows),
            minute_bars=out.minute_bars,
            daily_bars=out.daily_bars,
            phase=self.phase,
            now=self.now,
            day_started=out.day_started,
        )

    def book(self, code: str) -> OrderBook:
        """The current book of one stock."""
        return self._books(np.array([self._row[code]], dtype=np.int64))[0]

    def last_trade(self, code: str) -> Trade | None:
        """The stock's latest print, possibly from an earlier day (None if it has not traded yet)."""
        return self._last[self._row[code]]

    def base_price(self, code: str) -> int:
        """The stock's base price today (the previous close): the centre of its daily price band."""
        return int(self._engine.base[self._row[code]])

    def is_halted(self, code: str) -> bool:
        return bool(self._engine.halted(self._t)[self._row[code]])

    def halted(self) -> list[str]:
        """Codes of the stocks halted now, explicitly or at random."""
        return [self._codes[row] for row in np.flatnonzero(self._engine.halted(self._t)).tolist()]

    def halt(self, code: str) -> None:
        """Suspend trading in a stock until :meth:`resume`: no trades, and its book is frozen."""
        row = self._row[code]
        self._engine.suspended[row] = True
        self._pending.changed.append(np.array([row], dtype=np.int64))

    def resume(self, code: str) -> None:
        """Lift a halt, whether set by :meth:`halt` or drawn at random."""
        row = self._row[code]
        self._engine.suspended[row] = False
        self._engine.halted_until[row] = 0
        self._pending.changed.append(np.array([row], dtype=np.int64))

    def _boundary(self, t: int, out: _Output) -> None:
        """What happens at an instant: a trading day starts, the opening or the closing auction prints."""
        day = day_of(t)
        engine = self._engine
        if day.trading and day.pre_open <= t < day.close and day.date != self._trade_date:
            engine.start_day()
            self._trade_date, self._closed = day.date, False
            self._open_pending = t <= day.open
            self._base = engine.base.tolist()
            out.day_started = day.date
            out.changed.append(np.arange(len(self._codes), dtype=np.int64))
        if day.date != self._trade_date or self._closed:
            return
        if self._open_pending and t >= day.open:
            self._open_pending = False
            prints = engine.auction(day.open, _OPENING_FLOW)
            self._emit(prints, Phase.PRE_OPEN, out)
            engine.requote(prints.stock, np.zeros(prints.stock.size), refresh=1.0)
            out.changed.append(prints.stock)
        if t >= day.close:
            self._emit(engine.auction(day.close, _CLOSING_FLOW), Phase.CLOSING_AUCTION, out)
            engine.close_day()
            minutes, days = self._bars.close_day(day.date)
            out.minute_bars.extend(minutes)
            out.daily_bars.extend(days)
            self._closed = True

    def _emit(self, prints: Prints, phase: Phase, out: _Output) -> None:
        """Turn prints into trades: onto the tape, into the bars and the last-trade table."""
        if prints.stock.size == 0:
            return
        day = day_of(int(prints.time[0]))
        codes, base, last, bars = self._codes, self._base, self._last, self._bars
        anchor, midnight = day.midnight_kst, day.midnight
        columns = (prints.stock, prints.price, prints.quantity, prints.volume, prints.turnover, prints.time)
        for row, price, quantity, volume, turnover, t in zip(*(c.tolist() for c in columns), strict=True):
            change = price - base[row]
            trade = Trade(
                codes[row],
                price,
                quantity,
                volume,
                turnover,
                change,
                rounded(100.0 * change / base[row], 2),
                anchor + dt.timedelta(microseconds=t - midnight),
                phase,
            )
            out.trades.append(trade)
            last[row] = trade
            bars.add(trade)

    def _books(self, rows: Ints) -> list[OrderBook]:
        engine, books = self._engine, self._engine.books
        phase, now = self.phase, self.now
        halted = engine.halted(self._t)[rows].tolist()
        auction = phase in (Phase.PRE_OPEN, Phase.CLOSING_AUCTION)
        expected = prices_at(engine.auction_price(rows)).tolist() if auction else [None] * rows.size
        sides = []
        for asks in (True, False):
            rungs, qty, quoted = books.side(rows, asks=asks)
            prices = prices_at(np.maximum(rungs, 0)).tolist()
            sides.append(_levels(prices, qty.tolist(), quoted.sum(axis=1).tolist()))
        codes = self._codes
        return [
            OrderBook(codes[row], asks, bids, now, phase, None if stopped else price, stopped)
            for row, asks, bids, price, stopped in zip(rows.tolist(), *sides, expected, halted, strict=True)
        ]


def _levels(prices: list[list[int]], quantities: list[list[int]], counts: list[int]) -> list[tuple[Level, ...]]:
    """(price, quantity) levels of each row, the first ``count`` of them (those quoted inside the limits)."""
    return [
        tuple(zip(p, q, strict=True)) if n == LEVELS else tuple(zip(p[:n], q[:n], strict=True))
        for p, q, n in zip(prices, quantities, counts, strict=True)
    ]


def simulate(
    instruments: Sequence[Instrument],
    seed: int,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta = dt.timedelta(milliseconds=50),
    *,
    activity: float = 1.0,
) -> Iterator[Step]:
    """The steps of a simulator advanced from ``start`` to ``end`` by ``step``."""
    simulator = Simulator(instruments, seed=seed, start=start, activity=activity)
    moment = start.astimezone(KST)
    while moment < end:
        moment = min(moment + step, end)
        yield simulator.advance(moment)
