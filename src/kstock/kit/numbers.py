"""Small number helpers shared by the domains.

Every figure the API rounds goes through :func:`rounded` (one value) or :func:`rounded_array` (a numpy column):
``round`` keeps the sign of a tiny negative value (``round(-0.001, 2)`` is ``-0.0``), and JSON would show it as
``-0.0``; adding ``0.0`` turns ``-0.0`` into ``0.0`` and leaves every other value (and NaN) as it is.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def rounded(value: float, digits: int) -> float:
    """``round(value, digits)``, never ``-0.0``."""
    return round(value, digits) + 0.0


def rounded_array(values: npt.ArrayLike, digits: int) -> npt.NDArray[np.float64]:
    """``np.round(values, digits)`` as float64, never ``-0.0`` (NaN stays NaN)."""
    result = np.asarray(values, dtype=np.float64).round(digits)
    result += 0.0  # in place: -0.0 + 0.0 is 0.0
    return result


def percent(numerator: int | None, denominator: int | None, scale: int = 1) -> float | None:
    """``numerator x scale / denominator`` as a percentage rounded to 2 decimals, computed from exact integers
    and rounded only here; None without a positive denominator."""
    if numerator is None or not denominator or denominator <= 0:
        return None
    return rounded(numerator * scale / denominator * 100, 2)
