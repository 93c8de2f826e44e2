"""KRX price rules: tick sizes, daily price limits and market codes.

Tick sizes follow the unified KRX table in force since 2023-01-25 for KOSPI, KOSDAQ and KONEX.
All prices are KRW integers.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

CODE_PATTERN: Final = re.compile(r"^[0-9A-Z]{6}$")

# (upper bound exclusive, tick) pairs; the last bound is open.
_TICK_TABLE: Final[tuple[tuple[int, int], ...]] = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
)
_TOP_TICK: Final = 1_000
_BOUNDS: Final = np.array([b for b, _ in _TICK_TABLE], dtype=np.int64)
_TICKS: Final = np.array([t for _, t in _TICK_TABLE] + [_TOP_TICK], dtype=np.int64)


class Market(StrEnum):
    KOSPI = "KOSPI"
    KOSDAQ = "KOSDAQ"
    KONEX = "KONEX"


class InstrumentStatus(StrEnum):
    ACTIVE = "active"
    HALTED = "halted"
    DELISTED = "delisted"


def is_valid_code(code: str) -> bool:
    """A KRX short code: six characters of digits and upper-case letters (``005930``, ``0126Z0``)."""
    return bool(CODE_PATTERN.match(code))


def is_preferred_share(code: str) -> bool:
    """Preferred shares end in 5, 7, 8, 9 or K (``005935`` is 삼성전자우)."""
    return code[-1] in "5789K"


def tick_size(price: int) -> int:
    """Tick size in KRW for a price level."""
    for bound, tick in _TICK_TABLE:
        if price < bound:
            return tick
    return _TOP_TICK


def tick_sizes(prices: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Vectorised :func:`tick_size`."""
    result: npt.NDArray[np.int64] = _TICKS[np.searchsorted(_BOUNDS, prices, side="right")]
    return result


def is_on_tick(price: int) -> bool:
    """True when the price is a positive multiple of its tick size."""
    return price > 0 and price % tick_size(price) == 0


def round_down_to_tick(price: int) -> int:
    """Largest price on the tick grid that is <= ``price``."""
    tick = tick_size(price)
    return price - price % tick


def round_up_to_tick(price: int) -> int:
    """Smallest price on the tick grid that is >= ``price``."""
    down = round_down_to_tick(price)
    if down == price:
        return price
    # The tick may grow when rounding up across a band boundary; the boundary itself is on the grid.
    return down + tick_size(down)


def round_to_tick(price: int) -> int:
    """Nearest price on the tick grid (ties round down)."""
    down = round_down_to_tick(price)
    up = round_up_to_tick(price)
    return down if price - down <= up - price else up


def round_to_ticks(prices: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Vectorised :func:`round_to_tick` (floored at the minimum price of 1 KRW)."""
    prices = np.maximum(prices, 1)
    ticks = tick_sizes(prices)
    down = prices - prices % ticks
    up = np.where(down == prices, prices, down + tick_sizes(down))
    result: npt.NDArray[np.int64] = np.where(prices - down <= up - prices, down, up)
    return result


def limit_rate(market: str) -> float:
    """Daily price-limit fraction: 30% for KOSPI and KOSDAQ, 15% for KONEX."""
    return 0.15 if market == Market.KONEX else 0.30


def price_limits(base_price: int, market: str = Market.KOSPI) -> tuple[int, int]:
    """(lower, upper) daily limit prices for a base price: +-30% (KONEX 15%) truncated to the tick.

    The upper limit rounds down and the lower limit rounds up, so both stay inside the band.
    """
    pct = 15 if market == Market.KONEX else 30
    upper = round_down_to_tick(base_price + base_price * pct // 100)
    lower_raw = base_price - base_price * pct // 100
    lower = max(round_up_to_tick(lower_raw), 1)
    return lower, upper


def price_limits_array(
    base_prices: npt.NDArray[np.int64], market_is_konex: npt.NDArray[np.bool_] | bool = False
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Vectorised :func:`price_limits`."""
    pct = np.where(market_is_konex, 15, 30)
    upper_raw = base_prices + base_prices * pct // 100
    upper = upper_raw - upper_raw % tick_sizes(upper_raw)
    lower_raw = np.maximum(base_prices - base_prices * pct // 100, 1)
    lower_down = lower_raw - lower_raw % tick_sizes(lower_raw)
    lower = np.where(lower_down == lower_raw, lower_raw, lower_down + tick_sizes(lower_down))
    return lower.astype(np.int64), upper.astype(np.int64)
