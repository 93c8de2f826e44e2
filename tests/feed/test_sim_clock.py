"""The simulated market clock: demo mode always shows a session, non-demo mode follows the real calendar."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kstock.feed.sim import DEMO_DAY_START, SimClock, Simulator
from kstock.kit.calendar import KST, Phase, session_phase
from tests.feed.test_sim_market import universe

FRIDAY_OPEN = dt.datetime(2026, 3, 20, 9, 0, tzinfo=KST)
HOUR = dt.timedelta(hours=1)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1_000.0

    def __call__(self) -> float:
        return self.value


def test_speed_60_advances_an_hour_per_wall_minute() -> None:
    wall = FakeMonotonic()
    clock = SimClock(FRIDAY_OPEN, 60, demo=True, monotonic=wall)
    assert clock.now() == FRIDAY_OPEN
    wall.value += 60
    assert clock.now() == FRIDAY_OPEN + HOUR
    wall.value += 0.05
    assert clock.now() == FRIDAY_OPEN + HOUR + dt.timedelta(seconds=3)


def test_demo_rolls_from_the_close_to_the_next_trading_days_pre_open() -> None:
    clock = SimClock(FRIDAY_OPEN, 60, demo=True)
    first_day = 6.5 * 3600 / 60  # wall seconds from 09:00 to 15:30
    assert clock.at(first_day - 0.001).date() == FRIDAY_OPEN.date()
    assert session_phase(clock.at(first_day - 0.001)) is Phase.CLOSING_AUCTION
    monday = clock.at(first_day)
    assert monday == dt.datetime(2026, 3, 23, 8, 55, tzinfo=KST)  # the weekend takes no wall time
    assert session_phase(monday) is Phase.PRE_OPEN
    assert session_phase(clock.at(first_day + 5)) is Phase.CONTINUOUS
    # A whole demo day is 08:55 to 15:30: 6 h 35 min of market time, 395 wall seconds at speed 60.
    assert clock.at(first_day + 395) == dt.datetime(2026, 3, 24, 8, 55, tzinfo=KST)


def test_demo_start_outside_a_session_moves_to_the_next_open() -> None:
    saturday = dt.datetime(2026, 3, 21, 14, 0, tzinfo=KST)
    assert SimClock(saturday, 60, demo=True).at(0) == dt.datetime(2026, 3, 23, 9, 0, tzinfo=KST)
    evening = dt.datetime(2025, 12, 31, 20, 0, tzinfo=KST)  # then the New Year holiday
    assert SimClock(evening, 60, demo=True).at(0) == dt.datetime(2026, 1, 2, 9, 0, tzinfo=KST)
    early = dt.datetime(2026, 3, 23, 7, 0, tzinfo=KST)
    assert SimClock(early, 60, demo=True).at(0) == dt.datetime(2026, 3, 23, 9, 0, tzinfo=KST)


@settings(max_examples=150)
@given(
    elapsed=st.floats(min_value=0, max_value=3_600, allow_nan=False),
    speed=st.sampled_from([1.0, 10.0, 60.0, 600.0, 3_600.0]),
)
def test_demo_clock_is_never_closed(elapsed: float, speed: float) -> None:
    clock = SimClock(FRIDAY_OPEN, speed, demo=True)
    moment = clock.at(elapsed)
    assert moment.tzinfo is not None
    assert session_phase(moment) is not Phase.CLOSED
    assert clock.at(elapsed + 0.05) >= moment


def test_demo_clock_over_a_long_wall_run_is_monotonic_and_in_session() -> None:
    clock = SimClock(FRIDAY_OPEN, 600, demo=True)
    previous = clock.at(0)
    days = set()
    for second in range(0, 6 * 3600, 13):  # six wall hours at speed 600: about 150 trading days
        moment = clock.at(second)
        assert moment >= previous
        assert session_phase(moment) is not Phase.CLOSED
        assert moment.time() >= DEMO_DAY_START or moment == FRIDAY_OPEN
        days.add(moment.date())
        previous = moment
    assert len(days) > 100


def test_non_demo_clock_follows_the_calendar() -> None:
    wall = FakeMonotonic()
    evening = dt.datetime(2026, 3, 20, 19, 0, tzinfo=KST)
    clock = SimClock(evening, 1, demo=False, monotonic=wall)
    assert clock.now() == evening
    assert session_phase(clock.now()) is Phase.CLOSED
    wall.value += 3_600
    assert clock.now() == evening + HOUR


def test_realtime_clock_is_the_kst_wall_clock() -> None:
    clock = SimClock.realtime()
    assert abs(clock.now() - dt.datetime.now(KST)) < dt.timedelta(seconds=5)
    assert clock.now().utcoffset() == dt.timedelta(hours=9)


def test_a_simulator_on_the_demo_clock_trades_day_after_day() -> None:
    clock = SimClock(FRIDAY_OPEN, 2_400, demo=True)  # 40 market minutes per wall second
    simulator = Simulator(universe(30, seed=4), seed=4, start=clock.at(0), activity=0.1)
    started: list[dt.date] = []
    closes: dict[dt.date, int] = {}
    trading_days: set[dt.date] = set()
    for tick in range(1, 500):  # 25 wall seconds in 50 ms steps: two and a half trading days
        step = simulator.advance(clock.at(tick * 0.05))
        assert step.phase is not Phase.CLOSED
        started.extend([step.day_started] if step.day_started else [])
        trading_days.update(t.time.date() for t in step.trades if t.phase is Phase.CONTINUOUS)
        closes.update({bar.trade_date: bar.close for bar in step.daily_bars if bar.code == "000020"})
    assert started == [dt.date(2026, 3, 20), dt.date(2026, 3, 23), dt.date(2026, 3, 24)]
    assert {dt.date(2026, 3, 20), dt.date(2026, 3, 23)} <= trading_days
    assert set(closes) == {dt.date(2026, 3, 20), dt.date(2026, 3, 23)}
