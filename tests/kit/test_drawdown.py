"""The one drawdown rule (kit/drawdown.py), against a plain reading of it in fractions."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from kstock.kit.drawdown import Episode, deepest


def whole(*levels: int) -> list[tuple[int, int]]:
    return [(level, 1) for level in levels]


def oracle(levels: list[tuple[int, int]]) -> Episode | None:
    """The rule read literally: exact fractions, a strictly higher level moves the peak, the first deepest fall."""
    best: Episode | None = None
    peak_index, peak = -1, Fraction(0)
    for index, (numerator, denominator) in enumerate(levels):
        level = Fraction(numerator, denominator)
        if peak_index < 0 or level > peak:
            peak_index, peak = index, level
        elif peak > 0 and (fall := (peak - level) / peak) > (best.fall if best else 0):
            best = Episode(peak_index, index, fall)
    return best


def test_no_fall() -> None:
    assert deepest([]) is None
    assert deepest(whole(5)) is None
    assert deepest(whole(1, 1, 2, 3, 3)) is None


def test_the_peak_is_the_first_position_of_its_level() -> None:
    assert deepest(whole(100, 120, 90, 120, 60)) == Episode(1, 4, Fraction(1, 2))


def test_equal_falls_keep_the_earliest() -> None:
    assert deepest(whole(100, 90, 200, 180)) == Episode(0, 1, Fraction(1, 10))


def test_a_fall_is_measured_against_its_peak_not_in_amount() -> None:
    # 1,000 -> 800 (20%) beats 3,000 -> 2,500 (16.7%) though 500 > 200.
    assert deepest(whole(1_000, 800, 3_000, 2_500)) == Episode(0, 1, Fraction(1, 5))


def test_peaks_at_or_below_zero_have_no_fall() -> None:
    assert deepest(whole(0, -5, -1, -10)) is None
    assert deepest(whole(-5, 10, 5)) == Episode(1, 2, Fraction(1, 2))


def test_levels_the_floats_cannot_tell_apart_are_compared_exactly() -> None:
    big = 10**20
    # Both peaks are 1 as floats; the second is higher by 1 / 10^20, so it becomes the peak.
    assert deepest([(1, 1), (big + 1, big), (1, 2)]) == Episode(1, 2, 1 - Fraction(big, 2 * (big + 1)))
    # The same level written two ways is a tie: the peak stays first.
    assert deepest([(3, 3), (big, big), (1, 2)]) == Episode(0, 2, Fraction(1, 2))
    # Two falls equal as floats (1/2), the second deeper by 1 / 10^20: it wins.
    assert deepest([(1, 1), (1, 2), (2, 1), (big - 2, big)]) == Episode(2, 3, 1 - Fraction(big - 2, 2 * big))
    # Equal exactly, written two ways: the first stays.
    assert deepest([(1, 1), (1, 2), (2, 1), (big, big)]) == Episode(0, 1, Fraction(1, 2))


@given(
    st.lists(
        st.tuples(st.integers(-5, 60).map(lambda n: n * 10**18 + 7), st.sampled_from([10**18, 10**18 + 1, 3, 7])),
        max_size=30,
    )
)
def test_agrees_with_fractions(levels: list[tuple[int, int]]) -> None:
    assert deepest(levels) == oracle(levels)


@given(st.lists(st.sampled_from([-1, 0, 90, 100, 110, 120]), max_size=30))
def test_agrees_with_fractions_on_ties(levels: list[int]) -> None:
    assert deepest(whole(*levels)) == oracle(whole(*levels))
