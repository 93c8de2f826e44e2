"""How a paper-trading account did: figures from its closed trades and its equity curve.

Pure functions, no I/O. Money is KRW in integers; ratios and percentages are unrounded floats computed from the
exact integers, rounded only by :meth:`PerformanceReport.to_dict` (percentages to 2 decimals, the profit factor and
the Sharpe ratio to 4). A figure that is not defined is None, never NaN or infinity.

Closed trades (round trips, :class:`ClosedTrade`), each with its realized P&L after fees and tax:

- ``trades`` = the number of closed trades; ``wins`` those with P&L > 0, ``losses`` those with P&L < 0; a trade with
  P&L = 0 counts in ``trades`` (and in ``breakeven``) but is neither a win nor a loss.
- ``win_rate_pct`` = wins / trades x 100; None without trades.
- ``gross_profit`` = sum of the winning P&Ls; ``gross_loss`` = sum of |P&L| of the losing trades (a positive
  amount); ``net_profit`` = sum of every P&L = gross_profit - gross_loss.
- ``average_win`` = gross_profit / wins, ``average_loss`` = gross_loss / losses (also a positive amount), both in
  whole KRW rounded half up; None without wins (losses).
- ``profit_factor`` = gross_profit / gross_loss; None when there is no loss (gross_loss = 0), 0.0 with losses only.

Equity curve (:class:`EquityPoint`: a date or a datetime with the account's equity, cash plus holdings at market):
points are taken in time order (a stable sort; all dates or all datetimes, not a mix).

- ``total_return_pct`` = (last equity - first equity) / first equity x 100; None without points or when the first
  equity is not positive.
- ``max_drawdown_pct``: the running peak at each point is the highest equity so far; the drawdown at a point is
  (peak - equity) / peak. The max drawdown is the largest one, as a percentage, over every point of the curve
  (intraday points too); ``max_drawdown_krw`` = peak - trough of that same episode (so not necessarily the largest
  fall in KRW), ``peak_at`` the first point at which that peak was reached and ``trough_at`` the trough. Ties go to
  the earliest episode; non-positive peaks are skipped. 0.0, 0 and None, None when the equity never falls.
- Daily returns: the equity of a day is its last point (for datetimes, the point's own calendar date, so pass them in
  Seoul time). The series is the first point's equity followed by the equity of each day, the first day's included
  only when it has a point after the first point (so the opening equity is the base of the first day's return); then
  r_i = E_i / E_(i-1) - 1, skipping a return whose base E_(i-1) is not positive.
- ``sharpe_ratio`` = mean(r) / s(r) x sqrt(252), with s the sample standard deviation (divisor n - 1) and a
  risk-free rate of 0; None with fewer than 2 returns or when s = 0.
- ``equity_curve``: the curve for display, at most ``max_points`` points (:func:`downsample`): every point when
  there are few enough, otherwise the first, the last, the drawdown's peak and trough, and points evenly spaced
  (by position) among the others.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from kstock.kit.drawdown import deepest
from kstock.kit.numbers import rounded

__all__ = [
    "DEFAULT_MAX_POINTS",
    "MIN_POINTS",
    "TRADING_DAYS_PER_YEAR",
    "ClosedTrade",
    "Drawdown",
    "EquityPoint",
    "Moment",
    "PerformanceReport",
    "TradeStats",
    "daily_returns",
    "downsample",
    "max_drawdown",
    "performance_report",
    "sharpe_ratio",
    "total_return_pct",
    "trade_stats",
]

Moment = dt.date | dt.datetime

TRADING_DAYS_PER_YEAR: Final = 252
DEFAULT_MAX_POINTS: Final = 500
MIN_POINTS: Final = 4  # room for the first, last, peak and trough points
_PCT_DECIMALS: Final = 2
_RATIO_DECIMALS: Final = 4


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip: bought ``quantity`` shares at ``entry_price`` and sold them at ``exit_price`` (KRW per share);
    ``realized_pnl`` is the KRW gained or lost after every fee and tax."""

    code: str
    quantity: int
    entry_at: Moment
    entry_price: int
    exit_at: Moment
    exit_price: int
    realized_pnl: int

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"{self.code}: quantity must be positive, got {self.quantity}")
        if self.entry_price <= 0 or self.exit_price <= 0:
            raise ValueError(f"{self.code}: prices must be positive")


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account's equity (KRW) at a moment."""

    at: Moment
    equity: int


@dataclass(frozen=True, slots=True)
class TradeStats:
    """The closed-trade figures of the module's definitions, unrounded."""

    trades: int = 0
    wins: int = 0
    losses: int = 0
    breakeven: int = 0
    win_rate_pct: float | None = None
    gross_profit: int = 0
    gross_loss: int = 0
    net_profit: int = 0
    average_win: int | None = None
    average_loss: int | None = None
    profit_factor: float | None = None


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall of the equity from its running peak; indices are positions in the sorted curve."""

    pct: float = 0.0
    amount: int = 0
    peak_index: int | None = None
    trough_index: int | None = None


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Every figure of the module's definitions, unrounded; :meth:`to_dict` gives the rounded, JSON-ready form."""

    trades: int
    wins: int
    losses: int
    breakeven: int
    win_rate_pct: float | None
    gross_profit: int
    gross_loss: int
    net_profit: int
    average_win: int | None
    average_loss: int | None
    profit_factor: float | None
    start_equity: int | None
    end_equity: int | None
    start_at: Moment | None
    end_at: Moment | None
    total_return_pct: float | None
    max_drawdown_pct: float
    max_drawdown_krw: int
    peak_at: Moment | None
    trough_at: Moment | None
    sharpe_ratio: float | None
    equity_curve: list[EquityPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values: percentages rounded to 2 decimals, the profit factor and the Sharpe
        ratio to 4, moments as ISO 8601 strings, money as integers."""
        return {
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
            "breakeven": self.breakeven,
            "win_rate_pct": _rounded(self.win_rate_pct, _PCT_DECIMALS),
            "gross_profit": self.gross_profit,
            "gross_loss": self.gross_loss,
            "net_profit": self.net_profit,
            "average_win": self.average_win,
            "average_loss": self.average_loss,
            "profit_factor": _rounded(self.profit_factor, _RATIO_DECIMALS),
            "start_equity": self.start_equity,
            "end_equity": self.end_equity,
            "start_at": _iso(self.start_at),
            "end_at": _iso(self.end_at),
            "total_return_pct": _rounded(self.total_return_pct, _PCT_DECIMALS),
            "max_drawdown_pct": _rounded(self.max_drawdown_pct, _PCT_DECIMALS),
            "max_drawdown_krw": self.max_drawdown_krw,
            "peak_at": _iso(self.peak_at),
            "trough_at": _iso(self.trough_at),
            "sharpe_ratio": _rounded(self.sharpe_ratio, _RATIO_DECIMALS),
            "equity_curve": [{"at": point.at.isoformat(), "equity": point.equity} for point in self.equity_curve],
        }


def _rounded(value: float | None, decimals: int) -> float | None:
    """``value`` rounded, never -0.0."""
    return None if value is None else rounded(value, decimals)


def _iso(moment: Moment | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for a non-negative numerator and a positive denominator."""
    return (2 * numerator + denominator) // (2 * denominator)


def trade_stats(trades: Iterable[ClosedTrade]) -> TradeStats:
    """Counts, win rate, gross and average win and loss, and profit factor of the closed trades."""
    pnls = [trade.realized_pnl for trade in trades]
    if not pnls:
        return TradeStats()
    winning = [pnl for pnl in pnls if pnl > 0]
    losing = [-pnl for pnl in pnls if pnl < 0]
    gross_profit, gross_loss = sum(winning), sum(losing)
    return TradeStats(
        trades=len(pnls),
        wins=len(winning),
        losses=len(losing),
        breakeven=len(pnls) - len(winning) - len(losing),
        win_rate_pct=len(winning) * 100 / len(pnls),
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net_profit=sum(pnls),
        average_win=_half_up(gross_profit, len(winning)) if winning else None,
        average_loss=_half_up(gross_loss, len(losing)) if losing else None,
        profit_factor=gross_profit / gross_loss if gross_loss else None,
    )


def _sorted_curve(points: Iterable[EquityPoint]) -> list[EquityPoint]:
    """The points in time order (stable); ``ValueError`` for a mix of dates and datetimes."""
    curve = list(points)
    kinds = {isinstance(point.at, dt.datetime) for point in curve}
    if len(kinds) > 1:
        raise ValueError("equity points must all be dates or all be datetimes")
    return sorted(curve, key=lambda point: point.at)


def total_return_pct(curve: Sequence[EquityPoint]) -> float | None:
    """(last - first) / first x 100 over a curve in time order; None when empty or the first equity is not positive."""
    if not curve or curve[0].equity <= 0:
        return None
    first, last = curve[0].equity, curve[-1].equity
    return (last - first) * 100 / first


def max_drawdown(curve: Sequence[EquityPoint]) -> Drawdown:
    """The largest fall from the running peak over a curve in time order, as a percentage of its peak, chosen by
    :func:`kstock.kit.drawdown.deepest` on the integer equity (falls compared exactly; the earliest of equal falls
    wins). ``Drawdown()`` when the equity never falls from a positive peak."""
    episode = deepest((point.equity, 1) for point in curve)
    if episode is None:
        return Drawdown()
    fall = curve[episode.peak].equity - curve[episode.trough].equity
    return Drawdown(float(episode.fall * 100), fall, episode.peak, episode.trough)


def _day(moment: Moment) -> dt.date:
    return moment.date() if isinstance(moment, dt.datetime) else moment


def daily_returns(curve: Sequence[EquityPoint]) -> list[float]:
    """Day-over-day returns of a curve in time order (see the module's definitions)."""
    if not curve:
        return []
    closes: dict[dt.date, int] = {}
    for point in curve[1:]:
        closes[_day(point.at)] = point.equity  # the day's last point wins
    series = [curve[0].equity, *closes.values()]
    return [current / base - 1 for base, current in pairwise(series) if base > 0]


def sharpe_ratio(returns: Sequence[float], periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float | None:
    """mean / sample standard deviation x sqrt(periods_per_year), risk-free 0; None for fewer than 2 returns or a
    zero deviation."""
    if len(returns) < 2:
        return None
    deviation = statistics.stdev(returns)  # exact arithmetic inside: 0.0 for equal returns
    if deviation == 0:
        return None
    return statistics.fmean(returns) / deviation * math.sqrt(periods_per_year)


def downsample(curve: Sequence[EquityPoint], max_points: int, keep: Iterable[int] = ()) -> list[EquityPoint]:
    """At most ``max_points`` points of ``curve`` in their order: all of them when few enough, else the first, the
    last and the ``keep`` positions, with points evenly spaced by position among the others filling the rest.
    ``ValueError`` when ``max_points`` leaves no room for the points that must stay."""
    count = len(curve)
    if count <= max_points:
        return list(curve)
    kept = {0, count - 1, *(index for index in keep if 0 <= index < count)}
    if max_points < len(kept):
        raise ValueError(f"max_points ({max_points}) must be at least {len(kept)}")
    others = [index for index in range(count) if index not in kept]
    slots = max_points - len(kept)
    chosen = {others[(2 * slot + 1) * len(others) // (2 * slots)] for slot in range(slots)}
    return [curve[index] for index in sorted(kept | chosen)]


def performance_report(
    trades: Iterable[ClosedTrade], equity: Iterable[EquityPoint], *, max_points: int = DEFAULT_MAX_POINTS
) -> PerformanceReport:
    """Every figure of the module's definitions from the closed trades and the equity curve (any order).

    ``max_points`` (at least 4) bounds the returned curve; ``ValueError`` below that, or for an equity curve mixing
    dates and datetimes.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    stats = trade_stats(trades)
    curve = _sorted_curve(equity)
    drawdown = max_drawdown(curve)
    keep = [index for index in (drawdown.peak_index, drawdown.trough_index) if index is not None]
    return PerformanceReport(
        trades=stats.trades,
        wins=stats.wins,
        losses=stats.losses,
        breakeven=stats.breakeven,
        win_rate_pct=stats.win_rate_pct,
        gross_profit=stats.gross_profit,
        gross_loss=stats.gross_loss,
        net_profit=stats.net_profit,
        average_win=stats.average_win,
        average_loss=stats.average_loss,
        profit_factor=stats.profit_factor,
        start_equity=curve[0].equity if curve else None,
        end_equity=curve[-1].equity if curve else None,
        start_at=curve[0].at if curve else None,
        end_at=curve[-1].at if curve else None,
        total_return_pct=total_return_pct(curve),
        max_drawdown_pct=drawdown.pct,
        max_drawdown_krw=drawdown.amount,
        peak_at=None if drawdown.peak_index is None else curve[drawdown.peak_index].at,
        trough_at=None if drawdown.trough_index is None else curve[drawdown.trough_index].at,
        sharpe_ratio=sharpe_ratio(daily_returns(curve)),
        equity_curve=downsample(curve, max_points, keep),
    )
