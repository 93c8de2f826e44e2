"""Paper-trading performance, hand-computed: trade statistics, total return, max drawdown, Sharpe, the curve."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstock.trading.performance import (
    ClosedTrade,
    Drawdown,
    EquityPoint,
    daily_returns,
    downsample,
    max_drawdown,
    performance_report,
    sharpe_ratio,
    total_return_pct,
    trade_stats,
)

KST = dt.timezone(dt.timedelta(hours=9))


def d(month: int, day: int) -> dt.date:
    return dt.date(2025, month, day)


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=KST)


def curve(*equities: int) -> list[EquityPoint]:
    """One point a day from 2025-03-03 on."""
    return [EquityPoint(d(3, 3) + dt.timedelta(days=i), equity) for i, equity in enumerate(equities)]


def closed(pnl: int, code: str = "005930") -> ClosedTrade:
    return ClosedTrade(code, 10, d(3, 3), 70_000, d(3, 5), 70_000 + pnl // 10, pnl)


# --- the worked example -----------------------------------------------------------------------------------------

EXAMPLE = curve(1_000_000, 1_100_000, 990_000, 1_045_000)


def test_worked_example() -> None:
    trades = [closed(p) for p in (50_000, -20_000, 30_000, -10_000, 0)]
    report = performance_report(trades, EXAMPLE)

    # Trades: 2 wins, 2 losses, 1 at zero.
    assert (report.trades, report.wins, report.losses, report.breakeven) == (5, 2, 2, 1)
    assert report.win_rate_pct == pytest.approx(40.0)  # 2 / 5
    assert (report.gross_profit, report.gross_loss, report.net_profit) == (80_000, 30_000, 50_000)
    assert (report.average_win, report.average_loss) == (40_000, 15_000)  # 80,000 / 2 and 30,000 / 2
    assert report.profit_factor == pytest.approx(80_000 / 30_000)  # 2.6667

    # (1,045,000 - 1,000,000) / 1,000,000 = 4.5%
    assert report.total_return_pct == pytest.approx(4.5)
    assert (report.start_equity, report.end_equity) == (1_000_000, 1_045_000)
    assert (report.start_at, report.end_at) == (d(3, 3), d(3, 6))
    # 1,100,000 -> 990,000: 110,000 / 1,100,000 = 10%
    assert report.max_drawdown_pct == pytest.approx(10.0)
    assert report.max_drawdown_krw == 110_000
    assert (report.peak_at, report.trough_at) == (d(3, 4), d(3, 5))

    # Returns 0.1, -0.1, 55/990 = 1/18, i.e. 27, -27, 15 (/270); mean 5/270; deviations 22, -32, 10 (/270);
    # s = sqrt((484 + 1024 + 100) / 2) / 270 = sqrt(804) / 270; Sharpe = 5 / sqrt(804) x sqrt(252) = 5 sqrt(21/67).
    assert report.sharpe_ratio == pytest.approx(5 * math.sqrt(21 / 67))  # 2.79925
    returns = np.array([0.1, -0.1, 1 / 18])
    assert report.sharpe_ratio == pytest.approx(float(returns.mean() / returns.std(ddof=1) * np.sqrt(252)))

    assert report.equity_curve == EXAMPLE
    assert report.to_dict() == {
        "trades": 5,
        "wins": 2,
        "losses": 2,
        "breakeven": 1,
        "win_rate_pct": 40.0,
        "gross_profit": 80_000,
        "gross_loss": 30_000,
        "net_profit": 50_000,
        "average_win": 40_000,
        "average_loss": 15_000,
        "profit_factor": 2.6667,
        "start_equity": 1_000_000,
        "end_equity": 1_045_000,
        "start_at": "2025-03-03",
        "end_at": "2025-03-06",
        "total_return_pct": 4.5,
        "max_drawdown_pct": 10.0,
        "max_drawdown_krw": 110_000,
        "peak_at": "2025-03-04",
        "trough_at": "2025-03-05",
        "sharpe_ratio": 2.7993,
        "equity_curve": [
            {"at": "2025-03-03", "equity": 1_000_000},
            {"at": "2025-03-04", "equity": 1_100_000},
            {"at": "2025-03-05", "equity": 990_000},
            {"at": "2025-03-06", "equity": 1_045_000},
        ],
    }


def test_points_in_any_order() -> None:
    report = performance_report([], reversed(EXAMPLE))
    assert report.total_return_pct == pytest.approx(4.5)
    assert report.equity_curve == EXAMPLE


# --- trades -----------------------------------------------------------------------------------------------------


def test_no_trades() -> None:
    stats = trade_stats([])
    assert (stats.trades, stats.wins, stats.losses, stats.breakeven) == (0, 0, 0, 0)
    assert (stats.win_rate_pct, stats.average_win, stats.average_loss, stats.profit_factor) == (None, None, None, None)
    assert (stats.gross_profit, stats.gross_loss, stats.net_profit) == (0, 0, 0)


def test_all_wins() -> None:
    stats = trade_stats([closed(10_000), closed(20_001)])
    assert (stats.wins, stats.losses, stats.win_rate_pct) == (2, 0, 100.0)
    assert stats.profit_factor is None  # no loss
    assert stats.average_win == 15_001  # 30,001 / 2 = 15,000.5, rounded half up
    assert stats.average_loss is None


def test_all_losses() -> None:
    stats = trade_stats([closed(-10_000), closed(-5_000), closed(-5_000)])
    assert (stats.wins, stats.losses, stats.win_rate_pct) == (0, 3, 0.0)
    assert stats.profit_factor == 0.0
    assert stats.average_win is None
    assert stats.average_loss == 6_667  # 20,000 / 3 = 6,666.67
    assert stats.net_profit == -20_000


def test_only_breakeven_trades() -> None:
    stats = trade_stats([closed(0), closed(0)])
    assert (stats.trades, stats.wins, stats.losses, stats.breakeven) == (2, 0, 0, 2)
    assert stats.win_rate_pct == 0.0
    assert stats.profit_factor is None


def test_win_rate_rounded_only_in_to_dict() -> None:
    report = performance_report([closed(1_000), closed(2_000), closed(-1_500)], [])
    assert report.win_rate_pct == pytest.approx(200 / 3)
    assert report.profit_factor == pytest.approx(2.0)
    out = report.to_dict()
    assert (out["win_rate_pct"], out["profit_factor"]) == (66.67, 2.0)


@pytest.mark.parametrize(("quantity", "price"), [(0, 70_000), (-1, 70_000), (10, 0)])
def test_closed_trade_refuses_nonsense(quantity: int, price: int) -> None:
    with pytest.raises(ValueError, match="005930"):
        ClosedTrade("005930", quantity, d(3, 3), price, d(3, 4), 70_000, 0)


# --- the curve --------------------------------------------------------------------------------------------------


def test_flat_curve() -> None:
    report = performance_report([], curve(1_000_000, 1_000_000, 1_000_000))
    assert report.total_return_pct == 0.0
    assert (report.max_drawdown_pct, report.max_drawdown_krw, report.peak_at, report.trough_at) == (0.0, 0, None, None)
    assert report.sharpe_ratio is None  # returns 0, 0: zero deviation


def test_empty_curve() -> None:
    report = performance_report([], [])
    assert (report.start_equity, report.end_equity, report.start_at, report.end_at) == (None, None, None, None)
    assert report.total_return_pct is None
    assert (report.max_drawdown_pct, report.max_drawdown_krw) == (0.0, 0)
    assert report.sharpe_ratio is None
    assert report.equity_curve == []
    assert report.to_dict()["equity_curve"] == []


def test_one_point() -> None:
    report = performance_report([], curve(1_000_000))
    assert report.total_return_pct == 0.0
    assert report.sharpe_ratio is None
    assert report.equity_curve == curve(1_000_000)


def test_one_return_has_no_sharpe() -> None:
    assert sharpe_ratio(daily_returns(curve(1_000_000, 1_100_000))) is None


def test_total_return_needs_a_positive_start() -> None:
    assert total_return_pct(curve(0, 1_000)) is None
    assert total_return_pct([]) is None
    assert total_return_pct(curve(1_000_000, 999_990)) == pytest.approx(-0.001)


def test_tiny_loss_rounds_to_plain_zero() -> None:
    out = performance_report([], curve(1_000_000, 999_990)).to_dict()
    assert out["total_return_pct"] == 0.0
    assert math.copysign(1.0, out["total_return_pct"]) == 1.0  # not -0.0


def test_drawdown_by_percentage_not_by_krw() -> None:
    # 1,000,000 -> 800,000 is 20% (200,000); 5,000,000 -> 4,250,000 is 15% but 750,000.
    points = curve(1_000_000, 800_000, 5_000_000, 4_250_000)
    assert max_drawdown(points) == Drawdown(20.0, 200_000, 0, 1)


def test_drawdown_peak_is_where_the_peak_was_first_reached() -> None:
    # The peak 1,200,000 is reached on the 2nd and the 4th point; the trough 900,000 is 25% below it.
    points = curve(1_000_000, 1_200_000, 1_100_000, 1_200_000, 900_000, 950_000)
    report = performance_report([], points)
    assert report.max_drawdown_pct == pytest.approx(25.0)
    assert report.max_drawdown_krw == 300_000
    assert (report.peak_at, report.trough_at) == (points[1].at, points[4].at)


def test_equal_drawdowns_keep_the_first() -> None:
    points = curve(1_000_000, 900_000, 2_000_000, 1_800_000)  # 10% twice
    assert max_drawdown(points) == Drawdown(10.0, 100_000, 0, 1)


def test_rising_curve_has_no_drawdown() -> None:
    assert max_drawdown(curve(1_000_000, 1_000_000, 1_200_000)) == Drawdown()
    assert max_drawdown([]) == Drawdown()


def test_intraday_points_daily_returns() -> None:
    points = [
        EquityPoint(at(3, 3, 9), 1_000_000),  # opening equity: the base of the first day's return
        EquityPoint(at(3, 3, 12), 990_000),
        EquityPoint(at(3, 3, 15, 30), 1_010_000),  # day 1: +1%
        EquityPoint(at(3, 4, 10), 1_050_000),
        EquityPoint(at(3, 4, 15, 30), 1_030_200),  # day 2: 1,030,200 / 1,010,000 = +2%
        EquityPoint(at(3, 5, 15, 30), 1_009_596),  # day 3: 1,009,596 / 1,030,200 = -2%
    ]
    assert daily_returns(points) == pytest.approx([0.01, 0.02, -0.02])
    report = performance_report([], points)
    # The drawdown sees every point: 1,050,000 -> 1,009,596 = 40,404 / 1,050,000 = 3.848%.
    assert report.max_drawdown_krw == 40_404
    assert report.max_drawdown_pct == pytest.approx(40_404 / 1_050_000 * 100)
    assert (report.peak_at, report.trough_at) == (at(3, 4, 10), at(3, 5, 15, 30))
    # mean 0.01/3, s = sqrt(((0.02/3)^2 + (0.05/3)^2 + (0.07/3)^2) / 2) = sqrt(0.0078 / 18)
    assert report.sharpe_ratio == pytest.approx((0.01 / 3) / math.sqrt(0.0078 / 18) * math.sqrt(252))
    assert report.to_dict()["peak_at"] == "2025-03-04T10:00:00+09:00"


def test_a_first_day_with_one_point_has_no_return() -> None:
    # The first point is the close of the first day: returns start on the second.
    assert daily_returns(curve(1_000_000, 1_100_000, 1_045_000)) == pytest.approx([0.1, -0.05])
    assert daily_returns([]) == []


def test_returns_skip_a_non_positive_base() -> None:
    assert daily_returns(curve(1_000, 0, 500, 1_000)) == pytest.approx([-1.0, 1.0])


def test_sharpe_against_numpy() -> None:
    returns = [0.012, -0.004, 0.0075, 0.0, -0.011, 0.02, 0.003]
    expected = np.mean(returns) / np.std(returns, ddof=1) * np.sqrt(252)
    assert sharpe_ratio(returns) == pytest.approx(float(expected))
    assert sharpe_ratio([0.01, 0.01, 0.01]) is None
    assert sharpe_ratio([]) is None


def test_mixed_dates_and_datetimes_refused() -> None:
    with pytest.raises(ValueError, match="all be dates or all be datetimes"):
        performance_report([], [EquityPoint(d(3, 3), 1), EquityPoint(at(3, 4, 9), 2)])


# --- downsampling -----------------------------------------------------------------------------------------------


def test_long_curve_downsampled_keeping_first_last_peak_and_trough() -> None:
    equities = [1_000_000 + 1_000 * i for i in range(1_000)]
    equities[600] = 3_000_000  # the peak
    equities[601] = 1_500_000  # the trough: 50% below it
    whole = curve(*equities)
    report = performance_report([], whole, max_points=10)
    points = report.equity_curve
    assert len(points) == 10
    positions = [whole.index(point) for point in points]
    assert positions == sorted(positions)
    assert {0, 600, 601, 999} <= set(positions)
    assert (report.peak_at, report.trough_at) == (points[positions.index(600)].at, points[positions.index(601)].at)
    # The six others are evenly spaced among the 996 remaining positions (one per 166).
    assert [p for p in positions if p not in {0, 600, 601, 999}] == [84, 250, 416, 582, 750, 916]


def test_short_curve_kept_whole() -> None:
    points = curve(*range(1, 11))
    assert downsample(points, 10) == points
    assert downsample(points, 500) == points


def test_max_points_at_least_four() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        performance_report([], EXAMPLE, max_points=3)
    with pytest.raises(ValueError, match="at least 3"):
        downsample(curve(*range(1, 11)), 2, keep=[5])


@given(
    equities=st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=300),
    max_points=st.integers(min_value=4, max_value=60),
)
def test_downsample_properties(equities: list[int], max_points: int) -> None:
    points = curve(*equities)
    report = performance_report([], points, max_points=max_points)
    kept = report.equity_curve
    assert len(kept) == min(len(points), max_points)
    assert kept[0] == points[0]
    assert kept[-1] == points[-1]
    assert [point.at for point in kept] == sorted({point.at for point in kept})  # a subsequence, no repeats
    assert set(kept) <= set(points)
    present = {point.at for point in kept}
    for moment in (report.peak_at, report.trough_at):
        assert moment is None or moment in present
