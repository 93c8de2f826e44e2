"""Figures that move with the price, as one vectorised formula for the loader and for live ticks.

``recompute_indicators`` stores what :func:`price_dependent` returns for each stock's latest close; the screener
applies the same function to live closes. Inputs and outputs are float64 arrays, one element per stock, with NaN
for null (in and out). Definitions (also in docs/api/market-data.md):

- ``change_pct`` = (close - prev_close) / prev_close x 100; null when prev_close is null or 0.
- ``market_cap`` = close x shares_outstanding (KRW; an exact integer while below 2**53, about 9,007 trillion KRW).
- ``per`` = close / eps_ttm, null when eps_ttm <= 0; ``pbr`` = close / bps, null when bps <= 0;
  ``psr`` = market_cap / revenue_ttm, null when revenue_ttm <= 0.
- ``dividend_yield`` = dps / close x 100 (0 for a stock paying none).
- ``pct_from_52w_high`` = (close / high_52w - 1) x 100; ``pct_from_52w_low`` = (close / low_52w - 1) x 100.
- ``price_vs_sma_n`` = (close / sma_n - 1) x 100 for n in 20, 60, 120.
- ``return_1m`` / ``return_3m`` / ``return_1y`` = (close / close_Xm_ago - 1) x 100.

Every result but ``market_cap`` is rounded to 2 decimals (never -0.0). A divisor that is null, zero or negative
gives null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.kit.numbers import rounded_array

__all__ = ["PRICE_BASE_COLUMNS", "PRICE_DEPENDENT_COLUMNS", "price_dependent"]

Floats = npt.NDArray[np.float64]

PRICE_BASE_COLUMNS: Final[tuple[str, ...]] = (
    "prev_close",
    "shares_outstanding",
    "eps_ttm",
    "bps",
    "dps",
    "revenue_ttm",
    "high_52w",
    "low_52w",
    "sma_20",
    "sma_60",
    "sma_120",
    "close_1m_ago",
    "close_3m_ago",
    "close_1y_ago",
)

PRICE_DEPENDENT_COLUMNS: Final[tuple[str, ...]] = (
    "change_pct",
    "market_cap",
    "per",
    "pbr",
    "psr",
    "dividend_yield",
    "pct_from_52w_high",
    "pct_from_52w_low",
    "price_vs_sma_20",
    "price_vs_sma_60",
    "price_vs_sma_120",
    "return_1m",
    "return_3m",
    "return_1y",
)


def _ratio(numerator: Floats, denominator: Floats, scale: float = 1.0) -> Floats:
    """numerator / denominator x scale rounded to 2 decimals; NaN where either is NaN or the divisor is <= 0."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    with np.errstate(invalid="ignore"):
        valid = denominator > 0  # NaN compares False
    np.divide(numerator, denominator, out=out, where=valid)
    return rounded_array(out * scale, 2)


def _pct_from(close: Floats, reference: Floats) -> Floats:
    """(close / reference - 1) x 100 rounded to 2 decimals; NaN where the reference is NaN or <= 0."""
    out = np.full(np.broadcast(close, reference).shape, np.nan)
    with np.errstate(invalid="ignore"):
        valid = reference > 0
    np.divide(close, reference, out=out, where=valid)
    return rounded_array((out - 1.0) * 100.0, 2)


def price_dependent(base: Mapping[str, Floats], close: Floats) -> dict[str, Floats]:
    """Every price-dependent figure for the given closes (float64, NaN = null in and out), vectorised.

    ``base`` maps each name of :data:`PRICE_BASE_COLUMNS` to an array shaped like ``close``; the result maps each
    name of :data:`PRICE_DEPENDENT_COLUMNS` to a new array.
    """
    close = np.asarray(close, dtype=np.float64)
    prev_close = np.asarray(base["prev_close"], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        has_prev = (prev_close != 0) & ~np.isnan(prev_close)
    change = np.full(close.shape, np.nan)
    np.divide(close - prev_close, prev_close, out=change, where=has_prev)
    market_cap = close * np.asarray(base["shares_outstanding"], dtype=np.float64)
    return {
        "change_pct": rounded_array(change * 100.0, 2),
        "market_cap": market_cap,
        "per": _ratio(close, np.asarray(base["eps_ttm"], dtype=np.float64)),
        "pbr": _ratio(close, np.asarray(base["bps"], dtype=np.float64)),
        "psr": _ratio(market_cap, np.asarray(base["revenue_ttm"], dtype=np.float64)),
        "dividend_yield": _ratio(np.asarray(base["dps"], dtype=np.float64), close, 100.0),
        "pct_from_52w_high": _pct_from(close, np.asarray(base["high_52w"], dtype=np.float64)),
        "pct_from_52w_low": _pct_from(close, np.asarray(base["low_52w"], dtype=np.float64)),
        "price_vs_sma_20": _pct_from(close, np.asarray(base["sma_20"], dtype=np.float64)),
        "price_vs_sma_60": _pct_from(close, np.asarray(base["sma_60"], dtype=np.float64)),
        "price_vs_sma_120": _pct_from(close, np.asarray(base["sma_120"], dtype=np.float64)),
        "return_1m": _pct_from(close, np.asarray(base["close_1m_ago"], dtype=np.float64)),
        "return_3m": _pct_from(close, np.asarray(base["close_3m_ago"], dtype=np.float64)),
        "return_1y": _pct_from(close, np.asarray(base["close_1y_ago"], dtype=np.float64)),
    }
