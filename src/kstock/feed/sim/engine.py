"""The order flow of every simulated stock at once: a latent fair price, quotes that follow it, market orders that
trade against the books, auctions, jumps and trading halts.

Each stock has a fair price (in rungs of the tick ladder) that follows a random walk calibrated to its daily
volatility, with an overnight gap and rare jumps, and is held inside the day's price limits. Book updates re-quote
the touch around the fair price; market orders arrive as a Poisson process, lean towards the side the fair price
has moved to, and trade at the touch, walking the book when they are larger than the best level. Times are integer
microseconds since the Unix epoch. All randomness comes from the one generator, so the same calls give the same
events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.feed.sim.book import Books
from kstock.feed.sim.grid import indices_of, prices_at
from kstock.feed.sim.instrument import Instrument
from kstock.feed.sim.profile import draw_profile
from kstock.feed.sim.timeline import SECOND
from kstock.kit.krx import price_limits_array, tick_sizes

__all__ = ["Engine", "Prints"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_SESSION_SECONDS: Final = 24_000.0  # continuous trading plus the auctions at their slower quote rate
_GAP_VOL: Final = 0.3  # overnight gap, as a fraction of the daily volatility
_JUMP_RATE: Final = 0.2 / 22_800  # jumps per stock per second of continuous trading
_HALT_RATE: Final = 0.002 / 22_800  # random halts per stock per second of continuous trading
_HALT_SECONDS: Final = (120.0, 600.0)
_REFRESH: Final = 0.3  # share of resting levels replaced at each book update
_TRADE_SIZE_SIGMA: Final = 1.0
_AUCTION_INTEREST: Final = 2.0  # orders every stock brings to an auction on top of its flow, so most print
_LOCKED_QUEUE: Final = 30.0  # the queue at a locked limit price, in median levels
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Prints:
    """Trades in time order: stock row, price, quantity, cumulative day volume and turnover, time."""

    stock: Ints
    price: Ints
    quantity: Ints
    volume: Ints
    turnover: Ints
    time: Ints

    @staticmethod
    def join(parts: Sequence[Prints]) -> Prints:
        """The prints of ``parts`` in time order (a market order's prints, which share a time, stay in order)."""
        if not parts:
            return Prints(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
        joined = parts[0]
        if len(parts) > 1:
            joined = Prints(*(np.concatenate([getattr(p, f) for p in parts]) for f in Prints.__slots__))
        order = np.argsort(joined.time, kind="stable")
        return Prints(*(getattr(joined, f)[order] for f in Prints.__slots__))


class Engine:
    """The state of ``len(instruments)`` stocks, one array element each."""

    def __init__(self, instruments: Sequence[Instrument], rng: np.random.Generator, *, activity: float) -> None:
        n = self.n = len(instruments)
        self.rng = rng
        self.profile = p = draw_profile(instruments, rng, activity=activity)
        self.books = Books(n)
        self.close = np.array([i.previous_close for i in instruments], dtype=np.int64)
        self.base = self.close.copy()
        self.fair = np.zeros(n)
        self.volume = np.zeros(n, dtype=np.int64)
        self.turnover = np.zeros(n, dtype=np.int64)
        self.last = np.zeros(n, dtype=np.int64)  # rung of today's last print
        self.traded = np.zeros(n, dtype=np.bool_)
        self.suspended = np.zeros(n, dtype=np.bool_)  # halted until resumed
        self.halted_until = np.zeros(n, dtype=np.int64)  # random halts
        self.depth = np.ones(n)
        self.trade_shares = np.ones(n)
        self.step_sd = np.zeros(n)
        self.units = np.ones(n)
        self._trade_cum, self._quote_cum = np.cumsum(p.trade_rate), np.cumsum(p.quote_rate)

    def halted(self, t: int) -> Bools:
        result: Bools = self.suspended | (self.halted_until > t)
        return result

    def start_day(self) -> None:
        """A new trading day: yesterday's close is the base price; limits, books and counters start afresh."""
        p, rng = self.profile, self.rng
        self.base = self.close.copy()
        lower, upper = price_limits_array(self.base, p.konex)
        self.books.lower, self.books.upper = indices_of(lower), indices_of(upper)
        self.units = self.base / tick_sizes(self.base)  # the base price in ticks
        self.depth = np.maximum(p.depth_value / self.base, 1.0)
        self.trade_shares = np.maximum(p.trade_value / self.base, 1.0)
        self.step_sd = p.daily_vol * self.units / np.sqrt(p.quote_rate * _SESSION_SECONDS)
        gap = rng.normal(0.0, _GAP_VOL, self.n) * p.daily_vol * self.units
        self.fair = self._clip_fair(indices_of(self.base) + gap)
        self.volume[:] = 0
        self.turnover[:] = 0
        self.traded[:] = False
        self.halted_until[:] = 0
        self.requote(np.arange(self.n), np.zeros(self.n), refresh=1.0)

    def close_day(self) -> None:
        """The day's last print becomes the close; a stock that never traded keeps its base price."""
        self.close = np.where(self.traded, prices_at(self.last), self.base)

    def requote(self, rows: Ints, moves: Floats, *, refresh: float = _REFRESH) -> None:
        """Let the fair price of ``rows`` take ``moves`` random-walk steps and quote the touch around it."""
        if rows.size == 0:
            return
        fair = self.fair[rows] + self.rng.normal(0.0, 1.0, rows.size) * self.step_sd[rows] * np.sqrt(moves)
        self.fair[rows] = fair = self._clip_fair(fair, rows)
        spread = self.profile.spread[rows]
        bid = np.floor(fair + 0.5 - spread / 2.0).astype(np.int64)  # the mid of the quote sits near the fair price
        books = self.books
        books.quote(rows, bid, bid + spread, self.depth[rows], self.rng, refresh=refresh)
        # A stock locked at a limit has a long queue at the limit price: buyers at the upper, sellers at the lower.
        queue = (_LOCKED_QUEUE * self.depth[rows]).astype(np.int64)
        up, down = bid == books.upper[rows], bid + spread == books.lower[rows]
        books.bid_qty[rows[up], 0] = np.maximum(books.bid_qty[rows[up], 0], queue[up])
        books.ask_qty[rows[down], 0] = np.maximum(books.ask_qty[rows[down], 0], queue[down])

    def auction_price(self, rows: Ints) -> Ints:
        """Rung of the single price an auction would print at now: the fair price inside the limits."""
        rung = np.rint(self.fair[rows]).astype(np.int64)
        result: Ints = np.minimum(np.maximum(rung, self.books.lower[rows]), self.books.upper[rows])
        return result

    def auction_quotes(self, t0: int, t1: int, pace: float) -> Ints:
        """Book updates of a call auction over ``[t0, t1)``; returns the rows whose book changed."""
        stock = self._arrivals(self._quote_cum, pace * (t1 - t0) / SECOND)
        counts = np.bincount(stock, minlength=self.n)
        rows = np.flatnonzero((counts > 0) & ~self.halted(t0))
        self.requote(rows, counts[rows].astype(np.float64))
        return rows

    def auction(self, t: int, flow_seconds: float) -> Prints:
        """A single-price auction at ``t``: every stock with crossing orders prints once at its auction price."""
        orders = self.rng.poisson(self.profile.trade_rate * flow_seconds + _AUCTION_INTEREST)
        rows = np.flatnonzero((orders > 0) & ~self.halted(t))
        size = orders[rows] * self.trade_shares[rows] * self.rng.lognormal(0.0, 0.5, rows.size)
        quantity = np.maximum(np.rint(size), 1).astype(np.int64)
        rung = self.auction_price(rows)
        price = prices_at(rung)
        self.last[rows] = rung
        self.traded[rows] = True
        self.volume[rows] += quantity
        self.turnover[rows] += price * quantity
        times = np.full(rows.size, t, dtype=np.int64)
        return Prints(rows, price, quantity, self.volume[rows], self.turnover[rows], times)

    def continuous(self, t0: int, t1: int) -> tuple[Prints, Ints]:
        """Continuous trading over ``[t0, t1)``: the prints, and the rows whose book changed."""
        rng, seconds = self.rng, (t1 - t0) / SECOND
        changed = [self._random_halts(t0, seconds), self._jumps(t0, seconds)]
        trades = self._arrivals(self._trade_cum, seconds)
        quotes = self._arrivals(self._quote_cum, seconds)
        stock = np.concatenate((trades, quotes))
        is_trade = np.arange(stock.size) < trades.size
        time = t0 + rng.integers(0, t1 - t0, stock.size)
        live = ~self.halted(t0)[stock]
        stock, is_trade, time = stock[live], is_trade[live], time[live]
        if stock.size == 0:
            return Prints.join([]), np.concatenate(changed)
        order = np.lexsort((time, stock))
        stock, is_trade, time = stock[order], is_trade[order], time[order]
        # Book updates between two trades of a stock merge into one that takes their random-walk steps together.
        starts = np.ones(stock.size, dtype=np.bool_)
        starts[1:] = (stock[1:] != stock[:-1]) | is_trade[1:] | is_trade[:-1]
        first = np.flatnonzero(starts)
        moves = np.diff(np.append(first, stock.size))
        stock, is_trade, time = stock[first], is_trade[first], time[first + moves - 1]
        # The k-th event of every stock goes in round k, so each round touches a stock at most once.
        position = np.arange(stock.size)
        new_stock = np.ones(stock.size, dtype=np.bool_)
        new_stock[1:] = stock[1:] != stock[:-1]
        rank = position - np.maximum.accumulate(np.where(new_stock, position, 0))
        by_rank = np.argsort(rank, kind="stable")
        bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
        parts: list[Prints] = []
        for r in range(int(rank.max()) + 1):
            events = by_rank[bounds[r] : bounds[r + 1]]
            quote = events[~is_trade[events]]
            self.requote(stock[quote], moves[quote].astype(np.float64))
            trade = events[is_trade[events]]
            if trade.size:
                parts.append(self._market_orders(stock[trade], time[trade]))
        changed.append(stock)
        return Prints.join(parts), np.concatenate(changed)

    def _market_orders(self, rows: Ints, times: Ints) -> Prints:
        rng, books = self.rng, self.books
        mid = (books.bid[rows] + books.ask[rows]) / 2.0
        p_buy = np.minimum(np.maximum(0.5 + 0.25 * (self.fair[rows] - mid), 0.15), 0.85)
        buy = rng.random(rows.size) < p_buy
        size = self.trade_shares[rows] * rng.lognormal(0.0, _TRADE_SIZE_SIGMA, rows.size)
        fills = books.take(rows, buy, np.maximum(np.rint(size), 1).astype(np.int64), self.depth[rows], rng)
        stock = rows[fills.order]
        price = prices_at(fills.rung)
        value = price * fills.quantity
        # Running totals inside each order (its prints are consecutive), on top of the day's totals.
        group = np.ones(stock.size, dtype=np.bool_)
        group[1:] = fills.order[1:] != fills.order[:-1]
        head = np.maximum.accumulate(np.where(group, np.arange(stock.size), 0))
        cum_qty, cum_value = np.cumsum(fills.quantity), np.cumsum(value)
        volume = self.volume[stock] + cum_qty - (cum_qty - fills.quantity)[head]
        turnover = self.turnover[stock] + cum_value - (cum_value - value)[head]
        last = np.ones(stock.size, dtype=np.bool_)
        last[:-1] = group[1:]
        ends = stock[last]
        self.volume[ends], self.turnover[ends] = volume[last], turnover[last]
        self.last[ends] = fills.rung[last]
        self.traded[ends] = True
        return Prints(stock, price, fills.quantity, volume, turnover, times[fills.order])

    def _arrivals(self, cumulative_rate: Floats, seconds: float) -> Ints:
        """Stocks of the events of a Poisson process with the given per-stock rates over ``seconds``."""
        total = float(cumulative_rate[-1]) if self.n else 0.0
        count = self.rng.poisson(total * seconds)
        if count == 0:
            return _EMPTY
        stock = np.searchsorted(cumulative_rate, self.rng.random(count) * total, side="right")
        result: Ints = np.minimum(stock, self.n - 1).astype(np.int64)
        return result

    def _random_halts(self, t0: int, seconds: float) -> Ints:
        count = self.rng.poisson(self.n * _HALT_RATE * seconds)
        if count == 0:
            return _EMPTY
        rows = self.rng.integers(0, self.n, count)
        lasting = (self.rng.uniform(*_HALT_SECONDS, count) * SECOND).astype(np.int64)
        self.halted_until[rows] = np.maximum(self.halted_until[rows], t0 + lasting)
        result: Ints = rows.astype(np.int64)
        return result

    def _jumps(self, t0: int, seconds: float) -> Ints:
        count = self.rng.poisson(self.n * _JUMP_RATE * seconds)
        if count == 0:
            return _EMPTY
        rows = np.unique(self.rng.integers(0, self.n, count))
        # Heavy-tailed, in daily volatilities: most jumps are about one, a few run to the price limit.
        size = self.rng.choice([-1.0, 1.0], rows.size) * (0.5 + self.rng.pareto(2.0, rows.size))
        live = ~self.halted(t0)[rows]
        rows, size = rows[live], size[live]
        self.fair[rows] = self._clip_fair(
            self.fair[rows] + size * self.profile.daily_vol[rows] * self.units[rows], rows
        )
        self.requote(rows, np.zeros(rows.size))
        return rows

    def _clip_fair(self, fair: Floats, rows: Ints | None = None) -> Floats:
        """Hold the fair price between one rung under the lower limit (no bids) and the upper limit (no asks)."""
        lower = self.books.lower if rows is None else self.books.lower[rows]
        upper = self.books.upper if rows is None else self.books.upper[rows]
        result: Floats = np.minimum(np.maximum(fair, lower - 1.0), upper + 0.999)
        return result
