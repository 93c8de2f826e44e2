"""A portfolio's performance from its transaction ledger and daily closes: values, flows, time-weighted returns.

Pure functions, no I/O. Money is KRW in integers; returns are floats, rounded (as percentages, to 2 decimals) only
in :class:`Performance`. Definitions:

- Trades are replayed in trade-date order, keeping the given order within a date. Trades dated after ``as_of`` are
  left out. A trade that would take a holding below zero at its point of the ledger raises ``ValueError``.
- Valuation dates: every trade date up to ``as_of``, and every date from the first trade date to ``as_of`` on which
  a stock held after that date's trades, or traded that date, has a close. A date on which nothing is held and
  nothing is traded is not a valuation date.
- ``value`` = sum over the holdings after the date's trades of quantity x the stock's latest close on or before
  the date; before the stock's first close, its latest trade price up to the date. An exact integer.
- ``buys`` = sum of price x quantity + fees of the date's buys (money put in); ``sells`` = sum of price x quantity
  - fees of the date's sells (money taken out).
- ``daily_return``: buys happen at the start of the day and sells at its end, so
  r = (value + sells) / (previous value + buys) - 1, the previous value being the previous valuation date's (0
  before the first); null when that divisor is 0 (nothing at risk that day).
- ``cumulative_return`` = product of (1 + r) over the valuation dates so far - 1, a null r counting as 0: the
  time-weighted return, which money put in or taken out does not move.
- ``max_drawdown_pct``: the largest fall of the index 1 + cumulative_return from its running peak, both taken at
  valuation dates, as a positive percentage of the peak; 0.0 when the index never falls.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from kstock.kit.drawdown import deepest
from kstock.kit.numbers import rounded

__all__ = ["DayValue", "Performance", "Side", "Trade", "performance", "value_history"]

Side = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class Trade:
    """One ledger entry: ``price`` and ``fees`` in KRW; ``fees`` are added to a buy's cost, taken from a sell's."""

    trade_date: dt.date
    stock_code: str
    side: Side
    quantity: int
    price: int
    fees: int


@dataclass(frozen=True, slots=True)
class DayValue:
    """The portfolio on one valuation date, after that date's trades."""

    date: dt.date
    value: int
    buys: int
    sells: int
    daily_return: float | None
    cumulative_return: float


@dataclass(frozen=True, slots=True)
class Performance:
    """The value history and its summary; percentages rounded to 2 decimals."""

    history: list[DayValue]
    time_weighted_return_pct: float
    max_drawdown_pct: float
    peak_date: dt.date | None
    trough_date: dt.date | None
    start_date: dt.date | None
    end_date: dt.date | None
    start_value: int
    end_value: int
    net_contributions: int


@dataclass(frozen=True, slots=True)
class _Closes:
    """One stock's closes, in date order, with a lookup of the latest close on or before a date."""

    dates: list[dt.date]
    prices: list[int]
    on: frozenset[dt.date]

    @classmethod
    def of(cls, closes: Sequence[tuple[dt.date, int]]) -> _Closes:
        ordered = sorted(closes, key=lambda close: close[0])
        dates = [day for day, _ in ordered]
        return cls(dates, [price for _, price in ordered], frozenset(dates))

    def latest(self, day: dt.date) -> int | None:
        """The latest close on or before ``day``; None before the first."""
        i = bisect_right(self.dates, day)
        return self.prices[i - 1] if i else None


def _pct(fraction: float) -> float:
    """fraction x 100 rounded to 2 decimals, never -0.0."""
    return rounded(fraction * 100.0, 2)


def _daily_return(value: int, sells: int, previous_value: int, buys: int) -> float | None:
    """(value + sells) / (previous_value + buys) - 1, from the exact integer gain; None when the divisor is 0."""
    at_risk = previous_value + buys
    if at_risk == 0:
        return None
    return (value + sells - at_risk) / at_risk


def value_history(
    trades: Iterable[Trade], closes: Mapping[str, Sequence[tuple[dt.date, int]]], as_of: dt.date
) -> list[DayValue]:
    """The portfolio on every valuation date from its first trade to ``as_of`` (see the module's definitions).

    ``closes`` maps a stock code to its daily closes as (date, close) pairs; stocks the ledger never trades are
    ignored, and so are closes after ``as_of``. Raises ``ValueError`` for a trade that would take a holding below
    zero, or for an unknown side.
    """
    ledger = sorted((trade for trade in trades if trade.trade_date <= as_of), key=lambda trade: trade.trade_date)
    if not ledger:
        return []
    by_date: dict[dt.date, list[Trade]] = {}
    for trade in ledger:
        by_date.setdefault(trade.trade_date, []).append(trade)
    series = {code: _Closes.of(closes.get(code, ())) for code in {trade.stock_code for trade in ledger}}
    first = ledger[0].trade_date
    close_dates = {day for stock in series.values() for day in stock.dates if first <= day <= as_of}

    quantities: dict[str, int] = {}  # positive holdings only
    last_trade_price: dict[str, int] = {}
    history: list[DayValue] = []
    previous_value = 0
    index = 1.0
    for day in sorted(close_dates | by_date.keys()):
        buys = sells = 0
        day_trades = by_date.get(day, [])
        for trade in day_trades:
            amount = trade.price * trade.quantity
            if trade.side == "buy":
                quantity = quantities.get(trade.stock_code, 0) + trade.quantity
                buys += amount + trade.fees
            elif trade.side == "sell":
                quantity = quantities.get(trade.stock_code, 0) - trade.quantity
                sells += amount - trade.fees
            else:
                raise ValueError(f"unknown side {trade.side!r} on {trade.trade_date} for {trade.stock_code}")
            if quantity < 0:
                raise ValueError(
                    f"{trade.side} of {trade.quantity} {trade.stock_code} on {trade.trade_date} would leave "
                    f"{quantity} held"
                )
            if quantity:
                quantities[trade.stock_code] = quantity
            else:
                quantities.pop(trade.stock_code, None)
            last_trade_price[trade.stock_code] = trade.price
        if not day_trades and not any(day in series[code].on for code in quantities):
            continue
        value = 0
        for code, quantity in quantities.items():
            close = series[code].latest(day)
            value += quantity * (last_trade_price[code] if close is None else close)
        daily = _daily_return(value, sells, previous_value, buys)
        if daily is not None:
            index *= 1.0 + daily
        history.append(DayValue(day, value, buys, sells, daily, index - 1.0))
        previous_value = value
    return history


def _max_drawdown(history: Sequence[DayValue]) -> tuple[float, dt.date | None, dt.date | None]:
    """The largest fall of 1 + cumulative_return from its running peak, as a fraction of the peak, with the dates
    of that peak (the first date the peak level was reached) and of its trough; the earliest of equal falls wins;
    (0.0, None, None) if none.

    The float index drifts (a level reached twice may come out a hair higher the second time), so the episode is
    chosen, and its fall measured, by :func:`kstock.kit.drawdown.deepest` on the exact index: the product of the
    daily factors (value + sells) / (previous value + buys) in integers. A factor's numerator is carried until the
    next factor, whose denominator it cancels when no money moved in between, so the integers grow only with the
    flows.
    """
    episode = deepest(_exact_index(history))
    if episode is None:
        return 0.0, None, None
    return float(episode.fall), history[episode.peak].date, history[episode.trough].date


def _exact_index(history: Sequence[DayValue]) -> Iterator[tuple[int, int]]:
    """1 + cumulative_return of each day as an exact ratio (numerator, denominator) of integers."""
    numerator = denominator = 1  # the exact index is numerator x carried / denominator
    carried = 1
    previous_value = 0
    for day in history:
        at_risk = previous_value + day.buys
        if at_risk:
            if at_risk != carried:
                numerator *= carried
                denominator *= at_risk
            carried = day.value + day.sells
        previous_value = day.value
        yield numerator * carried, denominator


def performance(
    trades: Iterable[Trade], closes: Mapping[str, Sequence[tuple[dt.date, int]]], as_of: dt.date
) -> Performance:
    """The value history (:func:`value_history`) and its summary: time-weighted return, max drawdown, start and
    end, net contributions (sum of buys - sum of sells). An empty ledger gives an empty history, zeros and None."""
    history = value_history(trades, closes, as_of)
    if not history:
        return Performance([], 0.0, 0.0, None, None, None, None, 0, 0, 0)
    drawdown, peak_date, trough_date = _max_drawdown(history)
    drawdown_pct = _pct(drawdown)
    if drawdown_pct == 0.0:
        peak_date = trough_date = None
    first, last = history[0], history[-1]
    return Performance(
        history=history,
        time_weighted_return_pct=_pct(last.cumulative_return),
        max_drawdown_pct=drawdown_pct,
        peak_date=peak_date,
        trough_date=trough_date,
        start_date=first.date,
        end_date=last.date,
        start_value=first.value,
        end_value=last.value,
        net_contributions=sum(day.buys - day.sells for day in history),
    )
