"""The maximum drawdown of a series of levels: the one rule behind a portfolio's and a paper account's drawdown.

Pure, no I/O. A level is an exact ratio ``(numerator, denominator)`` of integers with a positive denominator: a
paper account passes its equity in KRW as ``(equity, 1)``, a portfolio its time-weighted index as the exact
product of its daily factors. The rule:

- The first level is the first peak; a later level becomes the peak only when it is strictly higher, so on an
  exact tie the peak stays at the first position that reached it.
- The fall at a level is (peak - level) / peak, from a positive peak only (a peak at or below zero has no fall).
- The drawdown is the deepest fall; of equal falls the earliest wins. There is none when the series never falls
  from a positive peak.

Every comparison is exact. Floats decide only where they cannot be wrong: each level's float is the correctly
rounded value of its ratio (so within 2^-53 of it), and a float comparison is trusted only when the two floats are
further apart than ``NOISE`` (relative for levels, absolute for falls, which lie in [0, 1]); closer than that the
integers are cross-multiplied. The answer is the one exact arithmetic gives, without a big-integer product per
level.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Final, NamedTuple

__all__ = ["NOISE", "Episode", "deepest"]

# Far above the error of a correctly rounded ratio (2^-53 relative) and of a fall computed from two of them.
NOISE: Final = 1e-9


class Episode(NamedTuple):
    """The deepest fall: positions in the series of its peak (the first position at that level) and its trough,
    and the fall (peak - trough) / peak, exactly."""

    peak: int
    trough: int
    fall: Fraction


def deepest(levels: Iterable[tuple[int, int]]) -> Episode | None:
    """The deepest fall from a running peak of ``levels`` (see the module's rule); None when there is none."""
    best: tuple[int, int] | None = None  # positions of the peak and the trough
    best_fall = 0.0
    best_ratio = (1, 1)  # trough / peak of the deepest fall, exactly: the smaller, the deeper
    peak_index = -1
    peak_float = 0.0
    peak = (0, 1)
    for index, (numerator, denominator) in enumerate(levels):
        level = numerator / denominator
        if peak_index < 0:
            higher = True
        elif abs(level - peak_float) > NOISE * abs(peak_float):
            higher = level > peak_float
        else:
            higher = numerator * peak[1] > peak[0] * denominator
        if higher:
            peak_index, peak_float, peak = index, level, (numerator, denominator)
            continue
        if peak[0] <= 0:
            continue
        fall = (peak_float - level) / peak_float
        if abs(fall - best_fall) > NOISE:
            deeper = fall > best_fall
        else:
            ratio = (numerator * peak[1], denominator * peak[0])  # level / peak
            deeper = ratio[0] * best_ratio[1] < best_ratio[0] * ratio[1]
        if deeper:
            best, best_fall = (peak_index, index), fall
            best_ratio = (numerator * peak[1], denominator * peak[0])
    if best is None:
        return None
    return Episode(best[0], best[1], 1 - Fraction(*best_ratio))
