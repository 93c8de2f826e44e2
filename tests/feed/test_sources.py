"""The simulator is a market source: it provides what the feed runner and the matcher beside it use, and produces
the records of the contract (ten-level books, trades, steps) with the session phase of the KRX calendar."""

from __future__ import annotations

import datetime as dt

from kstock.feed.sim import Instrument, Simulator
from kstock.kit.calendar import KST, session_phase
from kstock.sources import BOOK_LEVELS, OrderBook, QuoteSource, Source, Step, Trade

DAY = dt.date(2026, 3, 20)  # a Friday, a trading day


def _source() -> QuoteSource:
    instruments = [Instrument("005930", "KOSPI", 70_000, 5_900_000_000), Instrument("000660", "KOSPI", 180_000)]
    simulator = Simulator(instruments, seed=7, start=dt.datetime.combine(DAY, dt.time(8, 50), tzinfo=KST))
    return simulator  # typed: the simulator implements the contract's protocols


def test_the_simulator_provides_the_source_contract() -> None:
    source = _source()
    runner_view: Source = source
    now = dt.datetime.combine(DAY, dt.time(10, 0), tzinfo=KST)
    step = runner_view.advance(now)
    assert isinstance(step, Step)
    assert step.phase is runner_view.phase is session_phase(now)
    assert all(isinstance(trade, Trade) for trade in step.trades)
    assert step.trades, "an hour of continuous trading prints"
    assert source.now == now
    for code in ("005930", "000660"):
        book = source.book(code)
        assert isinstance(book, OrderBook)
        assert 0 < len(book.asks) <= BOOK_LEVELS
        assert 0 < len(book.bids) <= BOOK_LEVELS
        last = source.last_trade(code)
        assert last is None or last.code == code
    assert source.base_price("005930") == 70_000
