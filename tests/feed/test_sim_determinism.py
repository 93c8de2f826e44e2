"""Determinism and invariants over many seeds: the opening, the close, limit-locked stocks and halts."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kstock.feed.sim import Instrument, Simulator, simulate
from kstock.feed.sim.engine import Engine
from kstock.feed.sim.grid import prices_at
from kstock.feed.sim.timeline import SECOND
from kstock.kit.calendar import KST
from kstock.kit.krx import is_on_tick, price_limits
from kstock.sources import OrderBook, Phase, Step, Trade
from tests.feed.test_sim_market import universe

MONDAY = dt.date(2026, 3, 23)
STOCKS = universe(40, seed=3)
LIMITS = {i.code: price_limits(i.previous_close, i.market) for i in STOCKS}


def _at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 23, hh, mm, ss, tzinfo=KST)


def _run(seed: int, start: dt.datetime, end: dt.datetime, step_seconds: float = 2.0) -> list[Step]:
    return list(simulate(STOCKS, seed, start, end, dt.timedelta(seconds=step_seconds), activity=0.5))


def _check_trade(trade: Trade) -> None:
    lower, upper = LIMITS[trade.code]
    assert is_on_tick(trade.price)
    assert lower <= trade.price <= upper
    assert trade.quantity > 0


def _check_book(book: OrderBook) -> None:
    lower, upper = LIMITS[book.code]
    asks, bids = [p for p, _ in book.asks], [p for p, _ in book.bids]
    assert len(asks) <= 10
    assert len(bids) <= 10
    assert asks == sorted(set(asks))
    assert bids == sorted(set(bids), reverse=True)
    assert all(lower <= p <= upper and is_on_tick(p) for p in asks + bids)
    assert all(q > 0 for _, q in book.asks + book.bids)
    if asks and bids:
        assert bids[0] < asks[0]


def test_same_seed_same_events_and_another_seed_other_events() -> None:
    first = _run(5, _at(8, 55), _at(9, 5))
    assert first == _run(5, _at(8, 55), _at(9, 5))
    assert sum(len(s.trades) for s in first) > 100
    other = _run(6, _at(8, 55), _at(9, 5))
    assert [s.trades for s in other] != [s.trades for s in first]
    assert [s.books for s in other] != [s.books for s in first]


def test_determinism_holds_across_halts_and_queries() -> None:
    def run() -> list[Step]:
        simulator = Simulator(STOCKS, seed=9, start=_at(9, 0), activity=0.5)
        steps = []
        for second in range(1, 600, 3):
            if second == 91:
                simulator.halt(STOCKS[2].code)
            if second == 301:
                simulator.resume(STOCKS[2].code)
            simulator.book(STOCKS[0].code)  # reading the market does not move it
            steps.append(simulator.advance(_at(9, 0) + dt.timedelta(seconds=second)))
        return steps

    assert run() == run()


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_opening_keeps_the_rules_for_any_seed(seed: int) -> None:
    steps = _run(seed, _at(8, 25), _at(9, 3), step_seconds=10)
    assert [s.day_started for s in steps if s.day_started] == [MONDAY]
    for step in steps:
        for trade in step.trades:
            _check_trade(trade)
            if trade.phase is Phase.PRE_OPEN:
                assert trade.time == _at(9, 0)
            else:
                assert trade.phase is Phase.CONTINUOUS
                assert trade.time >= _at(9, 0)
        for book in step.books:
            _check_book(book)
            assert (book.expected_price is not None) == (book.phase is Phase.PRE_OPEN)
    assert all(not s.trades for s in steps if s.now < _at(9, 0))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_close_keeps_the_rules_for_any_seed(seed: int) -> None:
    steps = _run(seed, _at(15, 17), _at(15, 35), step_seconds=10)
    closing: dict[str, int] = {}
    for step in steps:
        for trade in step.trades:
            _check_trade(trade)
            if trade.phase is Phase.CLOSING_AUCTION:
                assert trade.time == _at(15, 30)
                closing[trade.code] = trade.price
            else:
                assert trade.phase is Phase.CONTINUOUS
                assert trade.time < _at(15, 20)
        for book in step.books:
            _check_book(book)
    assert closing
    daily = {bar.code: bar for step in steps for bar in step.daily_bars}
    assert all(daily[code].close == price for code, price in closing.items())
    assert all(not s.trades and not s.books for s in steps if s.now > _at(15, 30))
    assert steps[-1].phase is Phase.CLOSED


@pytest.mark.parametrize("market", ["KOSPI", "KONEX"])
def test_a_stock_locked_at_a_limit_trades_at_the_limit_only(market: str) -> None:
    instruments = [Instrument(f"00000{i}", market, close, 10**8) for i, close in enumerate([7_450, 51_000, 1_234])]
    engine = Engine(instruments, np.random.default_rng(1), activity=200.0)
    engine.start_day()
    rows = np.arange(len(instruments))
    for upper_side in (True, False):
        engine.fair[:] = engine.books.upper + 0.9 if upper_side else engine.books.lower - 1.0
        engine.requote(rows, np.zeros(rows.size))
        t = 1_800_000_000 * SECOND
        prints, _ = engine.continuous(t, t + 5 * SECOND)
        assert prints.stock.size > 10
        limit = prices_at(engine.books.upper if upper_side else engine.books.lower)[prints.stock]
        assert (prints.price <= limit).all() if upper_side else (prints.price >= limit).all()
        assert (prints.price == limit).mean() > 0.8  # the queue at the limit takes most orders
        for row, instrument in enumerate(instruments):
            lower, upper = price_limits(instrument.previous_close, market)
            assert prices_at(engine.books.lower[[row]])[0] == lower
            assert prices_at(engine.books.upper[[row]])[0] == upper
            _, _, quoted = engine.books.side(rows[[row]], asks=upper_side)
            assert not quoted.any()  # locked: nothing offered above the upper limit, nothing bid under the lower


def test_halted_stocks_neither_trade_nor_move_their_book() -> None:
    simulator = Simulator(STOCKS, seed=2, start=_at(10, 0), activity=2.0)
    busiest = Counter(t.code for t in simulator.advance(_at(10, 1)).trades).most_common(1)[0][0]
    simulator.halt(busiest)
    frozen = simulator.book(busiest)
    assert frozen.halted
    assert simulator.is_halted(busiest)
    assert busiest in simulator.halted()
    for minute in range(2, 12):
        step = simulator.advance(_at(10, minute))
        assert all(t.code != busiest for t in step.trades)
    still = simulator.book(busiest)
    assert (still.asks, still.bids) == (frozen.asks, frozen.bids)
    simulator.resume(busiest)
    assert not simulator.is_halted(busiest)
    traded = [t for m in range(12, 40) for t in simulator.advance(_at(10, m)).trades if t.code == busiest]
    assert traded


def test_time_cannot_go_backwards() -> None:
    simulator = Simulator(STOCKS, seed=1, start=_at(10, 0))
    simulator.advance(_at(10, 1))
    with pytest.raises(ValueError, match="backwards"):
        simulator.advance(_at(10, 0))
    assert simulator.advance(_at(10, 1)).trades == []
