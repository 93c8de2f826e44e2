"""Small number helpers shared by the domains."""

from __future__ import annotations


def percent(numerator: int | None, denominator: int | None, scale: int = 1) -> float | None:
    """``numerator x scale / denominator`` as a percentage rounded to 2 decimals, computed from exact integers
    and rounded only here; None without a positive denominator."""
    if numerator is None or not denominator or denominator <= 0:
        return None
    return round(numerator * scale / denominator * 100, 2) + 0.0  # + 0.0: never -0.0
