"""Invariants of the simulated market over a trading day and the next morning (Friday, Monday) for 200 stocks.

One run at a 20-second step feeds every test: prices on the tick grid and inside the day's limits, books sorted
and uncrossed, trades only in continuous trading plus one opening and one closing auction print, nothing while
halted, heavy-tailed activity, cumulative volume and turnover, minute and daily bars, and the day rollover.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from kstock.feed.sim import Instrument, Simulator
from kstock.kit.calendar import KST, session_phase
from kstock.kit.krx import is_on_tick, price_limits
from kstock.sources import MinuteBar, Phase, Step, Trade

FRIDAY = dt.date(2026, 3, 20)
MONDAY = dt.date(2026, 3, 23)
HALTED_CODE = "000010"
STEP = dt.timedelta(seconds=20)


def universe(n: int, seed: int = 1) -> list[Instrument]:
    """``n`` stocks over every tick band and market (every tenth on KONEX), some without a share count."""
    rng = np.random.default_rng(seed)
    edges = [1, 3, 1_999, 2_000, 4_995, 5_000, 19_990, 49_950, 199_900, 500_000, 1_250_000]
    instruments = []
    for i in range(n):
        market = "KONEX" if i % 10 == 9 else ("KOSPI" if i % 2 else "KOSDAQ")
        price = edges[i] if i < len(edges) else int(np.exp(rng.uniform(np.log(300), np.log(900_000))))
        shares = None if i % 7 == 3 else int(np.exp(rng.uniform(14, 21)))
        instruments.append(Instrument(f"{i:06d}", market, price, shares))
    return instruments


def _at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=KST)


def _times() -> Iterator[dt.datetime]:
    # All of Friday, then Monday morning: Friday 16:00 to Monday 08:00 is a single advance.
    for day, end in ((FRIDAY, _at(FRIDAY, 16)), (MONDAY, _at(MONDAY, 9, 30))):
        moment = _at(day, 8)
        while moment < end:
            moment += STEP
            yield moment


@dataclass
class Run:
    instruments: list[Instrument]
    steps: list[Step]
    halted_before: list[set[str]]  # codes halted when each step began
    last_trades: dict[str, Trade | None]

    @property
    def trades(self) -> list[Trade]:
        return [trade for step in self.steps for trade in step.trades]


@pytest.fixture(scope="module")
def run() -> Run:
    instruments = universe(200)
    simulator = Simulator(instruments, seed=11, start=_at(FRIDAY, 8), activity=0.03)
    steps: list[Step] = []
    halted_before: list[set[str]] = []
    for moment in _times():
        if moment == _at(FRIDAY, 10):
            simulator.halt(HALTED_CODE)
        if moment == _at(FRIDAY, 11):
            simulator.resume(HALTED_CODE)
        halted_before.append(set(simulator.halted()))
        steps.append(simulator.advance(moment))
    last = {i.code: simulator.last_trade(i.code) for i in instruments}
    return Run(instruments, steps, halted_before, last)


def _limits(run: Run) -> dict[tuple[str, dt.date], tuple[int, int]]:
    """Each stock's (lower, upper) limit prices of each day."""
    markets = {i.code: i.market for i in run.instruments}
    return {
        (code, day): price_limits(base, markets[code])
        for day, bases in _bases(run).items()
        for code, base in bases.items()
    }


def _bases(run: Run) -> dict[dt.date, dict[str, int]]:
    """Each day's base price, from the inputs and Friday's daily bars alone."""
    friday = {i.code: i.previous_close for i in run.instruments}
    monday = dict(friday)
    monday.update({bar.code: bar.close for step in run.steps for bar in step.daily_bars if bar.trade_date == FRIDAY})
    return {FRIDAY: friday, MONDAY: monday}


def test_the_run_is_busy_enough_to_mean_something(run: Run) -> None:
    assert len(run.trades) > 10_000
    assert [step.day_started for step in run.steps if step.day_started] == [FRIDAY, MONDAY]
    assert sum(len(step.daily_bars) for step in run.steps) > 150


def test_prices_are_on_the_tick_grid_and_inside_the_days_limits(run: Run) -> None:
    limits = _limits(run)
    limit_hits = 0
    for step in run.steps:
        for trade in step.trades:
            lower, upper = limits[trade.code, trade.time.date()]
            assert is_on_tick(trade.price)
            assert lower <= trade.price <= upper
            limit_hits += trade.price in (lower, upper)
        for book in step.books:
            lower, upper = limits[book.code, book.time.date()]
            for price, _ in book.asks + book.bids:
                assert is_on_tick(price)
                assert lower <= price <= upper
            if book.expected_price is not None:
                assert is_on_tick(book.expected_price)
                assert lower <= book.expected_price <= upper
    assert limit_hits > 0  # the 1 and 3 KRW stocks sit on their limits


def test_konex_limits_are_fifteen_percent(run: Run) -> None:
    konex = [i for i in run.instruments if i.market == "KONEX" and i.previous_close > 1_000]
    assert konex
    for instrument in konex:
        lower, upper = price_limits(instrument.previous_close, "KONEX")
        assert upper <= instrument.previous_close * 1.15
        assert lower >= instrument.previous_close * 0.85
    prices = [t.price for t in run.trades if t.code == konex[0].code and t.time.date() == FRIDAY]
    lower, upper = price_limits(konex[0].previous_close, "KONEX")
    assert all(lower <= p <= upper for p in prices)


def test_books_are_sorted_ten_deep_positive_and_uncrossed(run: Run) -> None:
    seen = 0
    for step in run.steps:
        for book in step.books:
            asks, bids = [p for p, _ in book.asks], [p for p, _ in book.bids]
            assert len(asks) <= 10
            assert len(bids) <= 10
            assert asks == sorted(set(asks))
            assert bids == sorted(set(bids), reverse=True)
            assert all(q > 0 and isinstance(q, int) for _, q in book.asks + book.bids)
            if asks and bids:
                assert bids[0] < asks[0]
            assert book.time == step.now
            assert book.phase is step.phase
            seen += book.phase is Phase.CONTINUOUS
    assert seen > 10_000


def test_trades_print_in_continuous_trading_and_the_two_auctions_only(run: Run) -> None:
    auction_prints: Counter[tuple[str, dt.date, Phase]] = Counter()
    for trade in run.trades:
        clock = trade.time.time()
        if trade.phase is Phase.CONTINUOUS:
            assert session_phase(trade.time) is Phase.CONTINUOUS
        elif trade.phase is Phase.PRE_OPEN:
            assert clock == dt.time(9, 0)
        else:
            assert trade.phase is Phase.CLOSING_AUCTION
            assert clock == dt.time(15, 30)
        if trade.phase is not Phase.CONTINUOUS:
            auction_prints[trade.code, trade.time.date(), trade.phase] += 1
        assert trade.time.tzinfo is not None
        assert trade.time.utcoffset() == dt.timedelta(hours=9)
    assert set(auction_prints.values()) == {1}
    assert len({k for k in auction_prints if k[2] is Phase.CLOSING_AUCTION}) > 150


def test_trades_come_in_time_order_inside_their_step(run: Run) -> None:
    previous = _at(FRIDAY, 8)
    for step in run.steps:
        times = [trade.time for trade in step.trades]
        assert times == sorted(times)
        assert all(previous <= t <= step.now for t in times)
        previous = step.now


def test_no_trades_while_halted(run: Run) -> None:
    halted_trades = 0
    for halted, step in zip(run.halted_before, run.steps, strict=True):
        halted_trades += sum(trade.code in halted for trade in step.trades)
    assert halted_trades == 0
    during = [t for t in run.trades if t.code == HALTED_CODE and _at(FRIDAY, 10) <= t.time < _at(FRIDAY, 11)]
    assert during == []
    assert any(t.code == HALTED_CODE and t.time >= _at(FRIDAY, 11) for t in run.trades)
    halted_books = [b for step in run.steps for b in step.books if b.code == HALTED_CODE and b.halted]
    assert halted_books
    assert halted_books[0].time == _at(FRIDAY, 10)


def test_activity_is_heavy_tailed(run: Run) -> None:
    counts = sorted(Counter(t.code for t in run.trades).values(), reverse=True)
    top = len(run.instruments) // 20
    assert sum(counts[:top]) > 0.3 * sum(counts)  # the busiest 5% print more than 30% of the tape
    assert counts[0] > 20 * counts[len(counts) // 2]


def test_cumulative_volume_and_turnover_are_sums_of_the_days_trades(run: Run) -> None:
    volume: dict[tuple[str, dt.date], int] = defaultdict(int)
    turnover: dict[tuple[str, dt.date], int] = defaultdict(int)
    for trade in run.trades:
        key = (trade.code, trade.time.date())
        volume[key] += trade.quantity
        turnover[key] += trade.price * trade.quantity
        assert trade.quantity > 0
        assert (trade.volume, trade.turnover) == (volume[key], turnover[key])


def test_change_is_against_the_days_base_price(run: Run) -> None:
    bases = _bases(run)
    for trade in run.trades:
        base = bases[trade.time.date()][trade.code]
        assert trade.change == trade.price - base
        assert trade.change_pct == round(100 * trade.change / base, 2)


def test_minute_bars_match_an_independent_aggregation(run: Run) -> None:
    expected: dict[tuple[str, dt.datetime], list[Trade]] = defaultdict(list)
    for trade in run.trades:
        expected[trade.code, trade.time.replace(second=0, microsecond=0)].append(trade)
    bars: dict[tuple[str, dt.datetime], MinuteBar] = {}
    for step in run.steps:
        for bar in step.minute_bars:
            assert (bar.code, bar.start) not in bars
            # Reported once its minute is over; the close completes the 15:30 bar of the closing print at once.
            assert bar.start + dt.timedelta(minutes=1) <= step.now or bar.start.time() == dt.time(15, 30)
            bars[bar.code, bar.start] = bar
    assert bars.keys() == expected.keys()
    for key, trades in expected.items():
        bar = bars[key]
        prices = [t.price for t in trades]
        assert (bar.open, bar.high, bar.low, bar.close) == (prices[0], max(prices), min(prices), prices[-1])
        assert bar.volume == sum(t.quantity for t in trades)
        assert bar.turnover == sum(t.price * t.quantity for t in trades)


def test_daily_bars_close_at_the_closing_auction_print(run: Run) -> None:
    closing = {(t.code, t.time.date()): t for t in run.trades if t.phase is Phase.CLOSING_AUCTION}
    by_day: dict[tuple[str, dt.date], list[Trade]] = defaultdict(list)
    for trade in run.trades:
        by_day[trade.code, trade.time.date()].append(trade)
    for step in run.steps:
        for bar in step.daily_bars:
            assert step.now >= _at(bar.trade_date, 15, 30)
            trades = by_day[bar.code, bar.trade_date]
            prices = [t.price for t in trades]
            assert (bar.open, bar.high, bar.low, bar.close) == (prices[0], max(prices), min(prices), prices[-1])
            assert (bar.volume, bar.turnover) == (trades[-1].volume, trades[-1].turnover)
            if (bar.code, bar.trade_date) in closing:
                assert bar.close == closing[bar.code, bar.trade_date].price


def test_monday_starts_from_fridays_close_with_volume_reset(run: Run) -> None:
    friday_close = {b.code: b.close for s in run.steps for b in s.daily_bars if b.trade_date == FRIDAY}
    first_monday: dict[str, Trade] = {}
    for trade in run.trades:
        if trade.time.date() == MONDAY:
            first_monday.setdefault(trade.code, trade)
    moved = 0
    for code, trade in first_monday.items():
        assert trade.volume == trade.quantity
        assert trade.turnover == trade.price * trade.quantity
        if code in friday_close:
            assert trade.change == trade.price - friday_close[code]
            previous_close = next(i.previous_close for i in run.instruments if i.code == code)
            moved += friday_close[code] != previous_close
    assert moved > 50
    assert all(run.last_trades[code] is not None for code in first_monday)
