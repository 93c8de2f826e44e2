"""The array order books: market orders walk the levels from the touch, quotes keep orders at unchanged prices."""

from __future__ import annotations

import numpy as np

from kstock.feed.sim.book import LEVELS, Books
from kstock.feed.sim.grid import index_of


def _books(bid: int, ask: int, lower: int = 1, upper: int = 10_000) -> Books:
    books = Books(1)
    books.bid[0], books.ask[0] = bid, ask
    books.lower[0], books.upper[0] = lower, upper
    books.ask_qty[0] = np.arange(1, LEVELS + 1) * 10  # 10, 20, 30, ...
    books.bid_qty[0] = np.arange(1, LEVELS + 1) * 100
    return books


def _take(books: Books, buy: bool, quantity: int) -> list[tuple[int, int]]:
    rows = np.array([0])
    fills = books.take(rows, np.array([buy]), np.array([quantity]), np.array([5.0]), np.random.default_rng(0))
    return list(zip(fills.rung.tolist(), fills.quantity.tolist(), strict=True))


def test_a_small_buy_lifts_the_best_ask_only() -> None:
    books = _books(bid=100, ask=101)
    assert _take(books, True, 4) == [(101, 4)]
    assert books.ask[0] == 101
    assert books.ask_qty[0, 0] == 6
    assert books.bid[0] == 100


def test_a_large_buy_walks_the_asks() -> None:
    books = _books(bid=100, ask=101)
    assert _take(books, True, 45) == [(101, 10), (102, 20), (103, 15)]
    assert books.ask[0] == 103  # two levels emptied
    assert books.ask_qty[0, :3].tolist() == [15, 40, 50]
    assert (books.ask_qty[0] > 0).all()


def test_a_sell_walks_the_bids_downwards() -> None:
    books = _books(bid=100, ask=101)
    assert _take(books, False, 300) == [(100, 100), (99, 200)]
    assert books.bid[0] == 98
    assert books.bid_qty[0, 0] == 300
    assert books.ask[0] == 101


def test_orders_stop_at_the_price_limit() -> None:
    books = _books(bid=100, ask=101, upper=102)
    assert _take(books, True, 1_000) == [(101, 10), (102, 20)]
    assert books.ask[0] > 102  # nothing left to buy inside the limit
    assert _take(books, True, 5) == []


def test_a_quote_keeps_resting_orders_at_unchanged_prices() -> None:
    books = _books(bid=100, ask=101)
    before = dict(zip(range(101, 111), books.ask_qty[0].tolist(), strict=True))
    rows = np.array([0])
    books.quote(rows, np.array([102]), np.array([103]), np.array([5.0]), np.random.default_rng(1), refresh=0.0)
    assert (books.bid[0], books.ask[0]) == (102, 103)
    after = dict(zip(range(103, 113), books.ask_qty[0].tolist(), strict=True))
    assert all(after[price] == before[price] for price in range(103, 111))
    assert (books.bid_qty[0] > 0).all()
    assert (books.ask_qty[0] > 0).all()


def test_sides_report_only_levels_inside_the_limits() -> None:
    books = _books(bid=index_of(1_000), ask=index_of(1_001), lower=index_of(995), upper=index_of(1_003))
    rows = np.array([0])
    _, _, asks_quoted = books.side(rows, asks=True)
    _, _, bids_quoted = books.side(rows, asks=False)
    assert asks_quoted.sum() == 3  # 1,001 1,002 1,003
    assert bids_quoted.sum() == 6  # 1,000 down to 995
