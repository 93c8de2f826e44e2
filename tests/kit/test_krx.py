"""KRX price rules: tick sizes at every band boundary, rounding, daily limits, and the vectorised twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstock.kit.krx import (
    Market,
    is_on_tick,
    is_preferred_share,
    is_valid_code,
    limit_rate,
    price_limits,
    price_limits_array,
    round_down_to_tick,
    round_to_tick,
    round_to_ticks,
    round_up_to_tick,
    tick_size,
    tick_sizes,
)

PRICES = st.integers(min_value=1, max_value=5_000_000)


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1, 1),
        (1_999, 1),
        (2_000, 5),
        (4_995, 5),
        (5_000, 10),
        (19_990, 10),
        (20_000, 50),
        (49_950, 50),
        (50_000, 100),
        (199_900, 100),
        (200_000, 500),
        (499_500, 500),
        (500_000, 1_000),
        (3_000_000, 1_000),
    ],
)
def test_tick_size_at_band_boundaries(price: int, tick: int) -> None:
    assert tick_size(price) == tick
    assert tick_sizes(np.array([price], dtype=np.int64)).tolist() == [tick]


@pytest.mark.parametrize(
    ("price", "down", "up", "nearest"),
    [
        (1_234, 1_234, 1_234, 1_234),  # tick 1: everything is on the grid
        (2_002, 2_000, 2_005, 2_000),
        (2_003, 2_000, 2_005, 2_005),
        (5_005, 5_000, 5_010, 5_000),  # a tie rounds down
        (19_995, 19_990, 20_000, 19_990),  # a tie just below a band boundary
        (19_996, 19_990, 20_000, 20_000),  # rounding up lands on the boundary, which is on the coarser grid
        (49_990, 49_950, 50_000, 50_000),
        (68_050, 68_000, 68_100, 68_000),
        (499_700, 499_500, 500_000, 499_500),
        (500_400, 500_000, 501_000, 500_000),
        (500_600, 500_000, 501_000, 501_000),
    ],
)
def test_rounding_to_the_grid(price: int, down: int, up: int, nearest: int) -> None:
    assert round_down_to_tick(price) == down
    assert round_up_to_tick(price) == up
    assert round_to_tick(price) == nearest
    assert all(is_on_tick(value) for value in (down, up, nearest))


def test_is_on_tick_rejects_off_grid_and_non_positive_prices() -> None:
    assert is_on_tick(68_000)
    assert not is_on_tick(68_050)
    assert not is_on_tick(0)
    assert not is_on_tick(-5)


@pytest.mark.parametrize(
    ("base", "market", "expected"),
    [
        (10_000, Market.KOSPI, (7_000, 13_000)),
        (68_000, Market.KOSPI, (47_600, 88_400)),
        (1_000, Market.KOSDAQ, (700, 1_300)),
        # 1,999 * 30% = 599.7 -> 599: upper 2,598 truncates to the 5-won grid; lower 1,400 is on the 1-won grid.
        (1_999, Market.KOSDAQ, (1_400, 2_595)),
        # 15,550 +- 4,665: 20,215 truncates down to 20,200 (tick 50); 10,885 rounds up to 10,890 (tick 10).
        (15_550, Market.KOSPI, (10_890, 20_200)),
        # 199,400 +- 59,820: 259,220 truncates to 259,000 (tick 500); 139,580 rounds up to 139,600 (tick 100).
        (199_400, Market.KOSPI, (139_600, 259_000)),
        (10_000, Market.KONEX, (8_500, 11_500)),
        (68_000, Market.KONEX, (57_800, 78_200)),
    ],
)
def test_price_limits_by_hand(base: int, market: Market, expected: tuple[int, int]) -> None:
    assert price_limits(base, market) == expected


def test_limit_rate_per_market() -> None:
    assert limit_rate(Market.KOSPI) == limit_rate(Market.KOSDAQ) == 0.30
    assert limit_rate(Market.KONEX) == 0.15


@pytest.mark.parametrize("code", ["005930", "0126Z0", "00680K", "373220"])
def test_valid_codes(code: str) -> None:
    assert is_valid_code(code)


@pytest.mark.parametrize("code", ["5930", "0059300", "00593a", "005 30", ""])
def test_invalid_codes(code: str) -> None:
    assert not is_valid_code(code)


def test_preferred_shares_end_in_5_7_8_9_or_k() -> None:
    assert [is_preferred_share(code) for code in ("005935", "005387", "00104K", "005930", "0126Z0")] == [
        True,
        True,
        True,
        False,
        False,
    ]


@given(st.lists(PRICES, min_size=1, max_size=50))
def test_vectorised_ticks_and_rounding_match_scalar(prices: list[int]) -> None:
    array = np.array(prices, dtype=np.int64)
    assert tick_sizes(array).tolist() == [tick_size(price) for price in prices]
    assert round_to_ticks(array).tolist() == [round_to_tick(price) for price in prices]


@given(st.lists(st.tuples(PRICES, st.booleans()), min_size=1, max_size=50))
def test_vectorised_limits_match_scalar(cases: list[tuple[int, bool]]) -> None:
    bases = np.array([base for base, _ in cases], dtype=np.int64)
    konex = np.array([is_konex for _, is_konex in cases])
    lower, upper = price_limits_array(bases, konex)
    expected = [price_limits(base, Market.KONEX if is_konex else Market.KOSPI) for base, is_konex in cases]
    assert list(zip(lower.tolist(), upper.tolist(), strict=True)) == expected


@given(PRICES)
def test_rounding_stays_within_one_tick(price: int) -> None:
    nearest = round_to_tick(price)
    assert is_on_tick(nearest)
    assert round_down_to_tick(price) <= price <= round_up_to_tick(price)
    assert abs(nearest - price) * 2 <= max(tick_size(round_down_to_tick(price)), tick_size(round_up_to_tick(price)))


@given(st.integers(min_value=100, max_value=5_000_000), st.booleans())
def test_limits_are_on_the_grid_and_inside_the_band(base: int, konex: bool) -> None:
    market = Market.KONEX if konex else Market.KOSDAQ
    pct = 15 if konex else 30
    lower, upper = price_limits(base, market)
    assert is_on_tick(lower)
    assert is_on_tick(upper)
    assert base * (100 - pct) <= lower * 100 <= base * 100 <= upper * 100 <= base * (100 + pct)
