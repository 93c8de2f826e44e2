"""Portfolio performance, hand-computed: values, flows, daily and time-weighted returns, max drawdown."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstock.portfolio.performance import DayValue, Performance, Trade, performance, value_history

A = "005930"
B = "000660"
C = "035720"


def d(month: int, day: int) -> dt.date:
    return dt.date(2024, month, day)


def buy(day: dt.date, code: str, quantity: int, price: int, fees: int = 0) -> Trade:
    return Trade(day, code, "buy", quantity, price, fees)


def sell(day: dt.date, code: str, quantity: int, price: int, fees: int = 0) -> Trade:
    return Trade(day, code, "sell", quantity, price, fees)


def flows(history: list[DayValue]) -> list[tuple[dt.date, int, int, int]]:
    """The exact integer part of each day: (date, value, buys, sells)."""
    return [(day.date, day.value, day.buys, day.sells) for day in history]


def test_one_buy_then_prices_move() -> None:
    closes = {A: [(d(3, 4), 67_000), (d(3, 5), 71_000), (d(3, 6), 69_000), (d(3, 7), 72_500)]}
    # 3-04's close comes before the first trade: not a valuation date.
    result = performance([buy(d(3, 5), A, 10, 68_000, fees=1_000)], closes, d(3, 7))

    assert flows(result.history) == [
        # buys = 10 x 68,000 + 1,000 = 681,000; value = 10 x 71,000
        (d(3, 5), 710_000, 681_000, 0),
        (d(3, 6), 690_000, 0, 0),  # 10 x 69,000
        (d(3, 7), 725_000, 0, 0),  # 10 x 72,500
    ]
    assert [day.daily_return for day in result.history] == pytest.approx(
        [
            710_000 / 681_000 - 1,  # 0.042584: the fee is part of the money at risk
            690_000 / 710_000 - 1,  # -0.028169
            725_000 / 690_000 - 1,  # 0.050725
        ]
    )
    # The product telescopes: 725,000 / 681,000 - 1 = 0.064611
    assert result.history[-1].cumulative_return == pytest.approx(725_000 / 681_000 - 1)
    assert result.time_weighted_return_pct == 6.46
    # index 1.042584 -> 1.013216: a fall of 690 / 710 - 1 = -2.82% from 3-05
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (2.82, d(3, 5), d(3, 6))
    assert (result.start_date, result.end_date) == (d(3, 5), d(3, 7))
    assert (result.start_value, result.end_value, result.net_contributions) == (710_000, 725_000, 681_000)


def test_money_added_is_not_return() -> None:
    closes = {A: [(d(4, 1), 10_000), (d(4, 2), 12_000), (d(4, 3), 9_000), (d(4, 4), 10_000)]}
    trades = [
        buy(d(4, 1), A, 10, 10_000),
        buy(d(4, 3), A, 10, 12_000),  # bought at the start of 4-03 at 4-02's close, before the fall to 9,000
    ]
    result = performance(trades, closes, d(4, 4))

    assert flows(result.history) == [
        (d(4, 1), 100_000, 100_000, 0),  # 10 x 10,000
        (d(4, 2), 120_000, 0, 0),  # 10 x 12,000
        (d(4, 3), 180_000, 120_000, 0),  # 20 x 9,000
        (d(4, 4), 200_000, 0, 0),  # 20 x 10,000
    ]
    assert [day.daily_return for day in result.history] == pytest.approx(
        [
            0.0,  # 100,000 / 100,000 - 1
            0.2,  # 120,000 / 100,000 - 1
            -0.25,  # 180,000 / (120,000 + 120,000) - 1
            1 / 9,  # 200,000 / 180,000 - 1
        ]
    )
    # Time-weighted: 1.2 x 0.75 x 10/9 - 1 = 0, the stock's own move (10,000 -> 10,000) ...
    assert result.history[-1].cumulative_return == pytest.approx(0.0, abs=1e-12)
    assert result.time_weighted_return_pct == 0.0
    # ... while the value doubled (200,000 / 100,000 - 1 = +100%) because 120,000 was added, and against the
    # 220,000 put in the portfolio is down: 200,000 / 220,000 - 1 = -9.09%.
    assert result.end_value / result.start_value - 1 == pytest.approx(1.0)
    assert result.net_contributions == 220_000
    assert round((result.end_value / result.net_contributions - 1) * 100, 2) == -9.09
    # index 1.0, 1.2, 0.9, 1.0: the fall from 1.2 to 0.9 is 25%
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (25.0, d(4, 2), d(4, 3))


def test_partial_sell_sell_out_and_rebuy() -> None:
    closes = {
        A: [
            (d(4, 1), 10_000),
            (d(4, 2), 11_000),
            (d(4, 3), 11_500),
            (d(4, 4), 12_000),
            (d(4, 5), 12_500),
            (d(4, 8), 13_000),
            (d(4, 9), 13_500),
        ]
    }
    trades = [
        buy(d(4, 1), A, 100, 10_000),
        sell(d(4, 3), A, 40, 11_500, fees=2_000),
        sell(d(4, 4), A, 60, 12_000, fees=3_000),
        buy(d(4, 9), A, 50, 13_000),
    ]
    result = performance(trades, closes, d(4, 9))

    assert flows(result.history) == [
        (d(4, 1), 1_000_000, 1_000_000, 0),  # 100 x 10,000
        (d(4, 2), 1_100_000, 0, 0),  # 100 x 11,000
        (d(4, 3), 690_000, 0, 458_000),  # 60 x 11,500; sells = 40 x 11,500 - 2,000
        (d(4, 4), 0, 0, 717_000),  # nothing left; sells = 60 x 12,000 - 3,000
        # 4-05 and 4-08: nothing held, nothing traded: not valuation dates
        (d(4, 9), 675_000, 650_000, 0),  # 50 x 13,500; buys = 50 x 13,000
    ]
    returns = [
        0.0,
        0.1,  # 1,100,000 / 1,000,000 - 1
        1_148_000 / 1_100_000 - 1,  # (690,000 + 458,000) / 1,100,000 - 1 = 0.043636
        717_000 / 690_000 - 1,  # (0 + 717,000) / 690,000 - 1 = 0.039130
        675_000 / 650_000 - 1,  # 675,000 / (0 + 650,000) - 1 = 0.038462
    ]
    assert [day.daily_return for day in result.history] == pytest.approx(returns)
    # Sold out on 4-04 at 1.1 x 1.043636 x 1.039130 - 1 = 0.192922; the re-buy carries it on:
    # 1.192922 x 1.038462 - 1 = 0.238803
    sold_out = result.history[3].cumulative_return
    assert sold_out == pytest.approx(1.1 * (1_148_000 / 1_100_000) * (717_000 / 690_000) - 1)
    assert result.history[4].cumulative_return == pytest.approx((1 + sold_out) * (675_000 / 650_000) - 1)
    assert result.time_weighted_return_pct == 23.88
    # 1,000,000 in, 458,000 + 717,000 out, 650,000 in
    assert result.net_contributions == 1_000_000 - 458_000 - 717_000 + 650_000
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (0.0, None, None)


def test_nothing_at_risk_has_no_return_and_the_index_carries_over() -> None:
    closes = {A: [(d(5, 2), 10_000), (d(5, 3), 11_000)], C: [(d(5, 7), 5_000), (d(5, 8), 5_500)]}
    trades = [
        buy(d(5, 2), A, 10, 10_000),
        sell(d(5, 3), A, 10, 11_000),
        buy(d(5, 7), C, 10, 0),  # shares received at no cost into an empty portfolio
    ]
    history = value_history(trades, closes, d(5, 8))

    assert flows(history) == [
        (d(5, 2), 100_000, 100_000, 0),
        (d(5, 3), 0, 0, 110_000),
        (d(5, 7), 50_000, 0, 0),  # 10 x 5,000
        (d(5, 8), 55_000, 0, 0),  # 10 x 5,500
    ]
    # 5-07: previous value 0 + buys 0 = nothing at risk -> None; the index stays at 1.1
    assert [day.daily_return for day in history] == pytest.approx([0.0, 0.1, None, 0.1])
    assert [day.cumulative_return for day in history] == pytest.approx([0.0, 0.1, 0.1, 0.21])  # 1.1 x 1.1 - 1


def test_weekend_trade_and_a_stock_before_its_first_close() -> None:
    closes = {
        # A has no close on Friday 3-15 (as_of) and one after it, which is ignored.
        A: [(d(3, 8), 50_000), (d(3, 11), 51_000), (d(3, 12), 52_000), (d(3, 13), 50_000), (d(3, 14), 53_000)]
        + [(d(3, 18), 99_000)],
        # B is allotted on 3-12 and lists on 3-14.
        B: [(d(3, 14), 26_000), (d(3, 15), 27_000)],
    }
    trades = [
        buy(d(3, 12), B, 5, 20_000),
        buy(d(3, 9), A, 10, 49_000, fees=500),  # a Saturday; given after B's buy: the ledger is sorted by date
    ]
    result = performance(trades, closes, d(3, 15))

    assert flows(result.history) == [
        (d(3, 9), 500_000, 490_500, 0),  # Saturday: A at Friday's close, 10 x 50,000; buys = 490,000 + 500
        # Sunday 3-10: no close, no trade
        (d(3, 11), 510_000, 0, 0),  # 10 x 51,000
        (d(3, 12), 620_000, 100_000, 0),  # 10 x 52,000 + B at its trade price, 5 x 20,000
        (d(3, 13), 600_000, 0, 0),  # 10 x 50,000 + 5 x 20,000 (B still has no close)
        (d(3, 14), 660_000, 0, 0),  # 10 x 53,000 + 5 x 26,000
        (d(3, 15), 665_000, 0, 0),  # A at Thursday's close, 10 x 53,000 + 5 x 27,000
    ]
    returns = [
        500_000 / 490_500 - 1,  # 0.019368
        510_000 / 500_000 - 1,  # 0.02
        620_000 / (510_000 + 100_000) - 1,  # 0.016393
        600_000 / 620_000 - 1,  # -0.032258
        660_000 / 600_000 - 1,  # 0.1
        665_000 / 660_000 - 1,  # 0.007576
    ]
    assert [day.daily_return for day in result.history] == pytest.approx(returns)
    # (510,000 / 490,500) x (620 / 610) x (665 / 620) - 1 = (510,000 / 490,500) x (665 / 610) - 1 = 0.133511
    assert result.history[-1].cumulative_return == pytest.approx(510_000 / 490_500 * 665 / 610 - 1)
    assert result.time_weighted_return_pct == 13.35
    # the only fall: 3-12 -> 3-13, 600 / 620 - 1 = -3.23%
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (3.23, d(3, 12), d(3, 13))


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak() -> None:
    # Bought at the first close, so the index is close / 10,000: 1.0, 1.2, 0.9, 1.3, 1.1.
    prices = [10_000, 12_000, 9_000, 13_000, 11_000]
    days = [d(6, 3), d(6, 4), d(6, 5), d(6, 7), d(6, 10)]
    result = performance([buy(days[0], A, 7, 10_000)], {A: list(zip(days, prices, strict=True))}, days[-1])

    assert [1 + day.cumulative_return for day in result.history] == pytest.approx([1.0, 1.2, 0.9, 1.3, 1.1])
    # falls: 1.2 -> 0.9 is 0.3 / 1.2 = 25%; 1.3 -> 1.1 is 0.2 / 1.3 = 15.38%
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (25.0, d(6, 4), d(6, 5))
    assert result.time_weighted_return_pct == 10.0  # 11,000 / 10,000 - 1


def test_a_peak_reached_twice_keeps_its_first_date() -> None:
    # 1,307 on 3-05 and again on 3-09: the same index level (1,307 / 1,095), though the float products along the two
    # paths differ in the last bit (the second comes out higher). The drawdown is measured from the first date.
    prices = [1_095, 1_307, 1_192, 801, 1_156, 1_307, 636]
    days = [d(3, 4 + i) for i in range(len(prices))]
    result = performance([buy(days[0], A, 1, 1_095)], {A: list(zip(days, prices, strict=True))}, days[-1])
    levels = [1.0 + day.cumulative_return for day in result.history]
    assert levels[5] > levels[1]  # what the floats say
    assert (result.peak_date, result.trough_date) == (days[1], days[6])
    # exactly: 1 - 636 / 1,307 = 51.339...%
    assert result.max_drawdown_pct == round((1 - 636 / 1_307) * 100, 2) == 51.34


def test_max_drawdown_is_the_exact_fall_rounded_once() -> None:
    # 1,280 -> 1,000 is exactly 280 / 1,280 = 21.875%: a half-way figure, rounded to 21.88. The float index reaches
    # it as 0.218749999..., which rounded to 21.87.
    prices = [1_200, 1_280, 1_000]
    days = [d(3, 4 + i) for i in range(len(prices))]
    result = performance([buy(days[0], A, 1, 1_200)], {A: list(zip(days, prices, strict=True))}, days[-1])
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (21.88, days[1], days[2])


def test_max_drawdown_when_the_index_never_falls() -> None:
    days = [d(6, 3), d(6, 4), d(6, 5)]
    closes = {A: list(zip(days, [10_000, 10_000, 10_500], strict=True))}
    result = performance([buy(days[0], A, 1, 10_000)], closes, days[-1])
    assert (result.max_drawdown_pct, result.peak_date, result.trough_date) == (0.0, None, None)
    assert result.time_weighted_return_pct == 5.0


def test_empty_ledger() -> None:
    empty = Performance([], 0.0, 0.0, None, None, None, None, 0, 0, 0)
    assert performance([], {A: [(d(1, 2), 1_000)]}, d(1, 31)) == empty
    # a ledger that starts after as_of is empty as of that date
    assert performance([buy(d(2, 1), A, 1, 1_000)], {}, d(1, 31)) == empty


def test_trades_after_as_of_are_left_out() -> None:
    closes = {A: [(d(1, 2), 1_000), (d(1, 3), 1_100), (d(1, 4), 1_200)]}
    trades = [buy(d(1, 2), A, 10, 1_000), buy(d(1, 4), A, 10, 1_100)]
    assert flows(value_history(trades, closes, d(1, 3))) == [(d(1, 2), 10_000, 10_000, 0), (d(1, 3), 11_000, 0, 0)]


def test_the_given_order_is_kept_within_a_date() -> None:
    closes = {A: [(d(1, 2), 1_000), (d(1, 3), 1_100), (d(1, 4), 1_050)]}
    trades = [
        buy(d(1, 2), A, 10, 1_000),
        buy(d(1, 3), A, 5, 1_000, fees=10),
        sell(d(1, 3), A, 12, 1_100, fees=20),
        sell(d(1, 4), A, 3, 1_050),
    ]
    expected = value_history(trades, closes, d(1, 4))
    assert flows(expected) == [
        (d(1, 2), 10_000, 10_000, 0),
        (d(1, 3), 3_300, 5_010, 13_180),  # 3 x 1,100; 5 x 1,000 + 10; 12 x 1,100 - 20
        (d(1, 4), 0, 0, 3_150),  # 3 x 1,050
    ]
    # Dates in any order, each date's trades in their given order: the same history.
    latest_first = [trade for day in (d(1, 4), d(1, 2), d(1, 3)) for trade in trades if trade.trade_date == day]
    assert value_history(latest_first, closes, d(1, 4)) == expected
    # The same day's sell listed before its buy: 10 held, 12 sold -> below zero at that point of the ledger.
    with pytest.raises(ValueError, match="would leave -2 held"):
        value_history([trades[0], trades[2], trades[1], trades[3]], closes, d(1, 4))


def test_oversell_raises() -> None:
    closes = {A: [(d(1, 2), 1_000), (d(1, 3), 1_100)]}
    with pytest.raises(ValueError, match="sell of 11 005930 on 2024-01-03 would leave -1 held"):
        value_history([buy(d(1, 2), A, 10, 1_000), sell(d(1, 3), A, 11, 1_100)], closes, d(1, 3))
    with pytest.raises(ValueError, match="would leave -1 held"):
        value_history([buy(d(1, 2), A, 10, 1_000), sell(d(1, 3), B, 1, 1_100)], closes, d(1, 3))
    # selling exactly what is held is fine
    history = value_history([buy(d(1, 2), A, 10, 1_000), sell(d(1, 3), A, 10, 1_100)], closes, d(1, 3))
    assert history[-1].value == 0


@given(
    prices=st.lists(st.integers(1_000, 1_000_000), min_size=2, max_size=40),
    first_size=st.integers(1, 10_000),
    later_sizes=st.lists(st.integers(0, 10_000), max_size=40),
)
def test_buy_only_twr_is_the_price_return(prices: list[int], first_size: int, later_sizes: list[int]) -> None:
    """Buys at the start of a day pay the previous close, so each day's return is the stock's own, whatever the
    sizes: the index telescopes to last close / first close. Closes on consecutive days d0..dn, buys from d1."""
    days = [d(1, 1) + dt.timedelta(days=i) for i in range(len(prices))]
    sizes = [first_size, *later_sizes][: len(prices) - 1]
    trades = [buy(days[i], A, size, prices[i - 1]) for i, size in enumerate(sizes, start=1) if size]
    result = performance(trades, {A: list(zip(days, prices, strict=True))}, days[-1])

    assert result.end_date == days[-1]
    assert math.isclose(result.history[-1].cumulative_return, prices[-1] / prices[0] - 1, rel_tol=0, abs_tol=1e-9)
    assert result.net_contributions == sum(day.buys for day in result.history)


@given(
    prices=st.lists(st.sampled_from([900, 1_000, 1_100, 1_200, 1_300]), min_size=3, max_size=30),
    sizes=st.lists(st.integers(0, 3), min_size=2, max_size=30),
)
def test_peak_date_is_the_first_date_of_the_exact_peak(prices: list[int], sizes: list[int]) -> None:
    """Against the index computed in fractions: with few price levels, peaks are reached again and again."""
    days = [d(2, 1) + dt.timedelta(days=i) for i in range(len(prices))]
    trades = [buy(days[i], A, size, prices[i]) for i, size in enumerate(sizes[: len(prices)]) if size or i == 0]
    trades[0] = buy(days[0], A, max(1, trades[0].quantity), prices[0])
    result = performance(trades, {A: list(zip(days, prices, strict=True))}, days[-1])

    index, previous, peak, peak_day, worst, worst_peak = Fraction(1), 0, Fraction(-1), days[0], Fraction(0), None
    for day in result.history:
        at_risk = previous + day.buys
        if at_risk:
            index *= Fraction(day.value + day.sells, at_risk)
        previous = day.value
        if index > peak:
            peak, peak_day = index, day.date
        elif (fall := (peak - index) / peak) > worst:
            worst, worst_peak = fall, peak_day
    assert result.max_drawdown_pct == round(float(worst) * 100, 2)
    if result.max_drawdown_pct:
        assert result.peak_date == worst_peak
