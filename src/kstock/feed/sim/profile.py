"""How lively each simulated stock is: trade and quote intensity, volatility, trade size, book depth and spread.

Activity is heavy-tailed as on KRX: stocks are ranked by a noisy size score (market capitalisation when the share
count is known) and the trade intensity of the stock ranked ``r`` is proportional to ``r ** -0.9`` (Zipf-like), so
a few large caps print most of the tape and most small caps trade now and then. KONEX stocks are far quieter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.feed.sim.instrument import Instrument
from kstock.kit.krx import Market

__all__ = ["Profile", "draw_profile"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

MEAN_TRADE_RATE: Final = 0.08  # trades per second per stock in continuous trading, before the activity factor
_ZIPF_EXPONENT: Final = 0.9
_KONEX_ACTIVITY: Final = 0.05
_QUOTE_PER_TRADE: Final = 2.0  # book updates per trade
_QUOTE_FLOOR: Final = 1 / 90  # even a stock that never trades sees its book move about once a minute and a half
_MEDIAN_TRADE_VALUE: Final = 2_000_000.0  # KRW
_DEFAULT_CAP: Final = 3e11  # KRW, for stocks without a share count


@dataclass(frozen=True, slots=True)
class Profile:
    """Per-stock parameters, one array element per instrument."""

    trade_rate: Floats  # trades per second in continuous trading
    quote_rate: Floats  # book updates per second
    daily_vol: Floats  # standard deviation of the daily return
    trade_value: Floats  # median KRW value of one aggressive order
    depth_value: Floats  # median KRW value resting at one book level
    spread: Ints  # quoted spread in ticks
    konex: npt.NDArray[np.bool_]


def draw_profile(instruments: Sequence[Instrument], rng: np.random.Generator, *, activity: float) -> Profile:
    """Parameters for ``instruments``; ``activity`` scales every trade and quote intensity."""
    n = len(instruments)
    konex = np.array([i.market == Market.KONEX for i in instruments], dtype=np.bool_)
    caps = np.array(
        [float(i.previous_close) * i.shares_outstanding if i.shares_outstanding else np.nan for i in instruments],
        dtype=np.float64,
    )
    known = caps[~np.isnan(caps)]
    fill = float(np.median(known)) if known.size else _DEFAULT_CAP
    score = np.log(np.where(np.isnan(caps), fill, caps)) + rng.normal(0.0, 1.0, n)
    rank = np.empty(n, dtype=np.float64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, n + 1, dtype=np.float64)
    weight = rank**-_ZIPF_EXPONENT * np.where(konex, _KONEX_ACTIVITY, 1.0)
    trade_rate = activity * MEAN_TRADE_RATE * n * weight / weight.sum()
    quote_rate = _QUOTE_PER_TRADE * trade_rate + activity * _QUOTE_FLOOR
    daily_vol = np.clip(0.02 * rng.lognormal(0.0, 0.3, n), 0.008, 0.08)
    relative = trade_rate / max(float(trade_rate.mean()), 1e-12)
    trade_value = np.clip(_MEDIAN_TRADE_VALUE * relative**0.25 * rng.lognormal(0.0, 0.3, n), 2e5, 5e7)
    depth_value = trade_value * 3.0 * relative**0.25 * rng.lognormal(0.0, 0.3, n)  # busy books are deeper
    quiet = trade_rate < 0.02 * activity
    spread = np.where(quiet, 1 + rng.binomial(2, 0.35, n), 1).astype(np.int64)
    return Profile(trade_rate, quote_rate, daily_vol, trade_value, depth_value, spread, konex)
