"""The KRX tick grid as a ladder of numbered steps.

Every valid KRX price is a rung of one ladder: rung ``i`` and rung ``i + 1`` are one tick apart whatever the price
band, so "move the price up three ticks" is ``i + 3`` even across a band boundary (1,995 -> 2,000 -> 2,005).
Rung 0 is price 0, which is never quoted; rung ``p`` is price ``p`` below 2,000 KRW. The bands are those of
:mod:`kstock.kit.krx` (the unified table in force since 2023-01-25).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["index_of", "indices_of", "price_at", "prices_at"]

Ints = npt.NDArray[np.int64]

# First price and tick of each band, as in kstock.kit.krx.
_BAND_PRICE: Final = np.array([0, 2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.int64)
_BAND_TICK: Final = np.array([1, 5, 10, 50, 100, 500, 1_000], dtype=np.int64)
# First rung of each band: the previous band's first rung plus its number of rungs.
_BAND_INDEX: Final = np.concatenate(([0], np.cumsum(np.diff(_BAND_PRICE) // _BAND_TICK[:-1]))).astype(np.int64)
_PRICES: Final = [int(p) for p in _BAND_PRICE]
_TICKS: Final = [int(t) for t in _BAND_TICK]
_INDICES: Final = [int(i) for i in _BAND_INDEX]


def indices_of(prices: Ints) -> Ints:
    """Rung of each price, rounding down to the tick grid (prices >= 0)."""
    band = np.searchsorted(_BAND_PRICE, prices, side="right") - 1
    result: Ints = _BAND_INDEX[band] + (prices - _BAND_PRICE[band]) // _BAND_TICK[band]
    return result


def prices_at(indices: Ints) -> Ints:
    """Price in KRW of each rung (rungs >= 0)."""
    band = np.searchsorted(_BAND_INDEX, indices, side="right") - 1
    result: Ints = _BAND_PRICE[band] + (indices - _BAND_INDEX[band]) * _BAND_TICK[band]
    return result


def index_of(price: int) -> int:
    """Scalar :func:`indices_of`."""
    band = len(_PRICES) - 1
    while _PRICES[band] > price:
        band -= 1
    return _INDICES[band] + (price - _PRICES[band]) // _TICKS[band]


def price_at(index: int) -> int:
    """Scalar :func:`prices_at`."""
    band = len(_INDICES) - 1
    while _INDICES[band] > index:
        band -= 1
    return _PRICES[band] + (index - _INDICES[band]) * _TICKS[band]
