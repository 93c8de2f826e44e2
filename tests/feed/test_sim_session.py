"""The KRX session phases at their boundary times, and the tick ladder against the KRX tick table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstock.feed.sim.grid import index_of, indices_of, price_at, prices_at
from kstock.kit.calendar import KST, Phase, next_trading_day, session_phase
from kstock.kit.krx import round_down_to_tick, tick_size

MONDAY = dt.date(2026, 3, 23)


def _at(day: dt.date, hh: int, mm: int, ss: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, us, tzinfo=KST)


@pytest.mark.parametrize(
    ("clock", "phase"),
    [
        ((0, 0), Phase.CLOSED),
        ((8, 29, 59), Phase.CLOSED),
        ((8, 29, 59, 999_999), Phase.CLOSED),
        ((8, 30), Phase.PRE_OPEN),
        ((8, 59, 59), Phase.PRE_OPEN),
        ((9, 0), Phase.CONTINUOUS),
        ((12, 0), Phase.CONTINUOUS),
        ((15, 19, 59), Phase.CONTINUOUS),
        ((15, 20), Phase.CLOSING_AUCTION),
        ((15, 29, 59), Phase.CLOSING_AUCTION),
        ((15, 30), Phase.CLOSED),
        ((18, 0), Phase.CLOSED),
        ((23, 59, 59), Phase.CLOSED),
    ],
)
def test_session_phase_boundaries(clock: tuple[int, ...], phase: Phase) -> None:
    assert session_phase(_at(MONDAY, *clock)) is phase


def test_phase_values() -> None:
    assert [p.value for p in Phase] == ["pre_open", "continuous", "closing_auction", "closed"]


@pytest.mark.parametrize("day", [dt.date(2026, 3, 21), dt.date(2026, 3, 22), dt.date(2026, 1, 1)])
def test_weekends_and_holidays_are_closed_all_day(day: dt.date) -> None:
    assert day.weekday() >= 5 or day == dt.date(2026, 1, 1)
    for hh, mm in [(8, 30), (9, 0), (10, 0), (15, 20)]:
        assert session_phase(_at(day, hh, mm)) is Phase.CLOSED


def test_session_phase_reads_any_timezone() -> None:
    # 00:30 UTC is 09:30 in Seoul.
    assert session_phase(dt.datetime(2026, 3, 23, 0, 30, tzinfo=dt.UTC)) is Phase.CONTINUOUS
    assert session_phase(dt.datetime(2026, 3, 22, 23, 45, tzinfo=dt.UTC)) is Phase.PRE_OPEN


def test_session_phase_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        session_phase(dt.datetime(2026, 3, 23, 10, 0))


def test_next_trading_day_skips_weekends_and_holidays() -> None:
    assert next_trading_day(dt.date(2026, 3, 20)) == MONDAY
    assert next_trading_day(dt.date(2025, 12, 30)) == dt.date(2026, 1, 2)  # year-end closure and New Year


@given(st.integers(min_value=0, max_value=3_000_000))
def test_ladder_rounds_down_to_the_tick(price: int) -> None:
    rung = index_of(price)
    expected = round_down_to_tick(price) if price > 0 else 0
    assert price_at(rung) == expected
    assert prices_at(np.array([rung]))[0] == expected
    assert indices_of(np.array([price]))[0] == rung


@given(st.integers(min_value=1, max_value=10_000))
def test_neighbouring_rungs_are_one_tick_apart(rung: int) -> None:
    price = price_at(rung)
    assert price_at(rung + 1) - price == tick_size(price)
    assert index_of(price) == rung
