"""The limit order books (호가) of every simulated stock, held as arrays.

Each side of a stock's book is ten consecutive rungs of the tick ladder (:mod:`kstock.feed.sim.grid`) starting at
the touch: asks at ``ask, ask + 1, ...`` and bids at ``bid, bid - 1, ...``, with a resting quantity per level.
Levels outside the day's price limits are not quoted, so a book near the upper limit shows fewer asks and a stock
locked at the upper limit shows none. The touch never crosses: quotes are placed with ``ask > bid`` and a market
order only pushes its own side outwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.sources import BOOK_LEVELS

__all__ = ["LEVELS", "Books", "Fills"]

LEVELS: Final = BOOK_LEVELS
_LEVEL = np.arange(LEVELS, dtype=np.int64)
_SLOPE = 1.0 + 0.08 * _LEVEL  # deeper levels rest a little more than the touch

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Fills:
    """The prints of a batch of market orders, grouped by order and ordered by level (touch first)."""

    order: Ints  # position of the order in the batch
    rung: Ints
    quantity: Ints
    executed: Ints  # total executed per order of the batch


class Books:
    """Ten levels a side for ``n`` stocks; ``lower`` and ``upper`` are the rungs of the day's limit prices."""

    def __init__(self, n: int) -> None:
        self.bid = np.zeros(n, dtype=np.int64)
        self.ask = np.ones(n, dtype=np.int64)
        self.bid_qty = np.ones((n, LEVELS), dtype=np.int64)
        self.ask_qty = np.ones((n, LEVELS), dtype=np.int64)
        self.lower = np.ones(n, dtype=np.int64)
        self.upper = np.ones(n, dtype=np.int64)

    def quote(
        self, rows: Ints, bid: Ints, ask: Ints, depth: Floats, rng: np.random.Generator, *, refresh: float
    ) -> None:
        """Move the touch of ``rows`` to ``bid``/``ask``: resting orders at unchanged prices stay (a ``refresh``
        share of them is replaced, as orders are cancelled and added), new levels get fresh depth.

        ``depth`` is the median shares per level of each row; ``bid < ask`` must hold.
        """
        k = rows.size
        if k == 0:
            return
        fresh = self._fresh(np.concatenate((depth, depth)), rng)
        keep = rng.random((2 * k, LEVELS)) >= refresh
        self.ask_qty[rows] = _shift(self.ask_qty[rows], ask - self.ask[rows], fresh[:k], keep[:k])
        self.bid_qty[rows] = _shift(self.bid_qty[rows], self.bid[rows] - bid, fresh[k:], keep[k:])
        self.ask[rows] = ask
        self.bid[rows] = bid

    def take(self, rows: Ints, buy: Bools, quantity: Ints, depth: Floats, rng: np.random.Generator) -> Fills:
        """Execute one market order per row (``rows`` distinct): a buy lifts the asks from the best one up, a sell
        hits the bids from the best one down, walking levels while the order is larger than the level.

        The order is capped at the visible depth inside the limits; emptied levels leave the book and fresh depth
        (``depth`` median shares per level) refills the far end.
        """
        touch = np.where(buy, self.ask[rows], self.bid[rows])
        step = np.where(buy, 1, -1)
        rungs = touch[:, None] + step[:, None] * _LEVEL
        valid = (rungs >= self.lower[rows, None]) & (rungs <= self.upper[rows, None])
        raw = np.where(buy[:, None], self.ask_qty[rows], self.bid_qty[rows])
        resting = raw * valid
        cumulative = np.cumsum(resting, axis=1)
        executed = np.minimum(quantity, cumulative[:, -1])
        fill = np.minimum(np.maximum(executed[:, None] - (cumulative - resting), 0), resting)
        order, level = np.nonzero(fill)
        fills = Fills(order, rungs[order, level], fill[order, level], executed)
        # Levels the order emptied leave the book; the touch moves out by as many rungs.
        shift = np.where(executed > 0, (cumulative <= executed[:, None]).sum(axis=1), 0)
        keep = np.ones(raw.shape, dtype=np.bool_)
        left = _shift(raw - fill, shift, self._fresh(depth, rng), keep)
        moved = touch + step * shift
        buys, sells = rows[buy], rows[~buy]
        self.ask_qty[buys] = left[buy]
        self.ask[buys] = moved[buy]
        self.bid_qty[sells] = left[~buy]
        self.bid[sells] = moved[~buy]
        return fills

    def side(self, rows: Ints, *, asks: bool) -> tuple[Ints, Ints, Bools]:
        """(rungs, quantities, quoted) of one side of ``rows``, best level first."""
        if asks:
            rungs = self.ask[rows, None] + _LEVEL
            qty = self.ask_qty[rows]
        else:
            rungs = self.bid[rows, None] - _LEVEL
            qty = self.bid_qty[rows]
        quoted = (rungs >= self.lower[rows, None]) & (rungs <= self.upper[rows, None])
        return rungs, qty, quoted

    @staticmethod
    def _fresh(depth: Floats, rng: np.random.Generator) -> Ints:
        """New resting quantities: ``depth`` median shares per level, a little more further from the touch."""
        scale = depth[:, None] * _SLOPE
        return np.maximum(np.ceil(scale * rng.lognormal(0.0, 0.6, scale.shape)), 1).astype(np.int64)


def _shift(qty: Ints, shift: Ints, fresh: Ints, keep: Bools) -> Ints:
    """New level ``j`` takes old level ``j + shift`` where that exists (and ``keep`` says so), else ``fresh``."""
    source = _LEVEL + shift[:, None]
    inside = (source >= 0) & (source < LEVELS)
    old = qty[np.arange(qty.shape[0])[:, None], np.where(inside, source, 0)]
    result: Ints = np.where(inside & keep, old, fresh)
    return result
