"""Quality, value and growth scores (0-100): means of percentile ranks among the listed stocks.

Every figure is ranked as stored (rounded to 2 decimals) among the stocks of the universe where it is defined;
the universe is every stock with an indicator row whose instrument is not delisted (a delisted stock gets no
score and does not count in anyone's rank). Formulas, with a worked example, are in docs/api/scores.md:

- ``percentile``: pct = 100 x (r - 1) / (n - 1), r the 1-based ascending rank (ties share their average rank),
  n the number of defined values; 50 when n == 1.
- ``quality_score`` = mean of the available components among pct(roe), pct(operating_margin), pct(net_margin),
  100 - pct(roe_stdev), 100 - pct(op_margin_stdev); null with fewer than 3.
- ``value_score`` = mean of the available components among 100 - pct(per) (0 for a loss-maker, eps_ttm <= 0),
  100 - pct(pbr) (0 when bps <= 0) and pct(dividend_yield); null with fewer than 2.
- ``growth_score`` = mean of the available components among pct(revenue_growth_yoy), pct(eps_growth_yoy),
  pct(revenue_growth_3y), pct(eps_growth_3y); null with fewer than 2.

Scores are rounded to 1 decimal. Arrays are float64, one element per stock, NaN for null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from kstock.kit.numbers import rounded_array

__all__ = [
    "GROWTH_MIN_COMPONENTS",
    "QUALITY_MIN_COMPONENTS",
    "SCORE_COLUMNS",
    "SCORE_INPUTS",
    "VALUE_MIN_COMPONENTS",
    "growth_score",
    "percentile",
    "quality_score",
    "score_all",
    "value_score",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

SCORE_COLUMNS: Final = ("quality_score", "value_score", "growth_score")
SCORE_INPUTS: Final = (
    "roe",
    "operating_margin",
    "net_margin",
    "roe_stdev",
    "op_margin_stdev",
    "per",
    "pbr",
    "dividend_yield",
    "eps_ttm",
    "bps",
    "revenue_growth_yoy",
    "eps_growth_yoy",
    "revenue_growth_3y",
    "eps_growth_3y",
)
QUALITY_MIN_COMPONENTS: Final = 3
VALUE_MIN_COMPONENTS: Final = 2
GROWTH_MIN_COMPONENTS: Final = 2


def percentile(values: Floats) -> Floats:
    """Percentile rank (0-100) of each defined value among the defined values; NaN stays NaN.

    pct = 100 x (r - 1) / (n - 1) with r the 1-based ascending rank, tied values sharing their average rank, and n
    the number of defined values; 50 when n == 1. The lowest value is 0, the highest 100.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    defined = ~np.isnan(values)
    n = int(defined.sum())
    if n == 0:
        return out
    if n == 1:
        out[defined] = 50.0
        return out
    _, inverse, counts = np.unique(values[defined], return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)  # the 1-based rank of the last value of each group of equal values
    average_rank = last_rank - (counts - 1) / 2.0
    out[defined] = 100.0 * (average_rank[inverse.reshape(-1)] - 1.0) / (n - 1)
    return out


def _mean_of_available(components: Sequence[Floats], minimum: int) -> Floats:
    """Mean of the non-NaN components per stock, NaN where fewer than ``minimum`` are available; 1 decimal."""
    stacked = np.vstack(components)
    available = ~np.isnan(stacked)
    count = available.sum(axis=0)
    total = np.where(available, stacked, 0.0).sum(axis=0)
    out: Floats = np.full(count.shape, np.nan, dtype=np.float64)
    np.divide(total, count, out=out, where=count >= minimum)
    return rounded_array(out, 1)


def _in(values: Floats, universe: Bools) -> Floats:
    return np.where(universe, np.asarray(values, dtype=np.float64), np.nan)


def quality_score(figures: Mapping[str, Floats], universe: Bools) -> Floats:
    """Profitability and its stability: roe, margins, and the stability of annual ROE and operating margin."""
    return _mean_of_available(
        [
            percentile(_in(figures["roe"], universe)),
            percentile(_in(figures["operating_margin"], universe)),
            percentile(_in(figures["net_margin"], universe)),
            100.0 - percentile(_in(figures["roe_stdev"], universe)),
            100.0 - percentile(_in(figures["op_margin_stdev"], universe)),
        ],
        QUALITY_MIN_COMPONENTS,
    )


def _cheapness(ratio: Floats, per_share: Floats, universe: Bools) -> Floats:
    """100 - pct(ratio) among the stocks with a ratio; 0 where the per-share base is <= 0; NaN where it is null."""
    component = 100.0 - percentile(_in(ratio, universe))
    with np.errstate(invalid="ignore"):
        non_positive = np.asarray(per_share, dtype=np.float64) <= 0  # NaN compares False
    return np.where(universe & non_positive, 0.0, component)


def value_score(figures: Mapping[str, Floats], universe: Bools) -> Floats:
    """Cheapness: low PER, low PBR, high dividend yield."""
    return _mean_of_available(
        [
            _cheapness(figures["per"], figures["eps_ttm"], universe),
            _cheapness(figures["pbr"], figures["bps"], universe),
            percentile(_in(figures["dividend_yield"], universe)),
        ],
        VALUE_MIN_COMPONENTS,
    )


def growth_score(figures: Mapping[str, Floats], universe: Bools) -> Floats:
    """Growth of revenue and EPS, over a year and over three years."""
    return _mean_of_available(
        [
            percentile(_in(figures["revenue_growth_yoy"], universe)),
            percentile(_in(figures["eps_growth_yoy"], universe)),
            percentile(_in(figures["revenue_growth_3y"], universe)),
            percentile(_in(figures["eps_growth_3y"], universe)),
        ],
        GROWTH_MIN_COMPONENTS,
    )


def score_all(figures: Mapping[str, Floats], universe: Bools) -> dict[str, Floats]:
    """The three scores of every stock; NaN outside ``universe`` (a boolean mask shaped like the figures)."""
    universe = np.asarray(universe, dtype=np.bool_)
    return {
        "quality_score": quality_score(figures, universe),
        "value_score": value_score(figures, universe),
        "growth_score": growth_score(figures, universe),
    }
