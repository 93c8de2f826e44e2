"""What the feed publishes for a simulation step: the ``data`` of ``price_update`` and ``orderbook_update`` as the
API spec writes them, and the compact ``ticks`` batch every API instance applies to its market snapshot.

Encoded once here, by the one publisher; API instances splice these bytes into their frames unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import orjson

from kstock.broker.channels import ORDERBOOK_PREFIX, PRICE_PREFIX, TICKS
from kstock.kit.clock import iso_utc
from kstock.kit.numbers import percent
from kstock.sources import OrderBook, Step, Trade


def price_data(trade: Trade) -> bytes:
    return orjson.dumps(
        {
            "current_price": trade.price,
            "change_amount": trade.change,
            "change_percent": trade.change_pct,
            "volume": trade.volume,
            "turnover": trade.turnover,
            "timestamp": iso_utc(trade.time),
        }
    )


def _levels(levels: Sequence[tuple[int, int]]) -> list[dict[str, int]]:
    total = 0
    rows = []
    for price, volume in levels:
        total += volume
        rows.append({"price": price, "volume": volume, "total": total})
    return rows


def orderbook_data(book: OrderBook) -> bytes:
    """Ten levels a side with running totals; the spread in KRW and as a percentage of the mid price."""
    spread = spread_pct = None
    if book.asks and book.bids:
        best_ask, best_bid = book.asks[0][0], book.bids[0][0]
        spread = best_ask - best_bid
        spread_pct = percent(2 * spread, best_ask + best_bid)
    return orjson.dumps(
        {
            "asks": _levels(book.asks),
            "bids": _levels(book.bids),
            "spread": spread,
            "spread_pct": spread_pct,
            "phase": book.phase.value,
            "expected_price": book.expected_price,
            "halted": book.halted,
            "timestamp": iso_utc(book.time),
        }
    )


def last_trades(trades: Iterable[Trade]) -> dict[str, Trade]:
    """The newest trade of each stock: the state a subscriber needs (volume and turnover are cumulative)."""
    latest: dict[str, Trade] = {}
    for trade in trades:
        latest[trade.code] = trade
    return latest


def ticks_data(trades: Iterable[Trade]) -> bytes:
    """``[[code, price, volume, turnover, "YYYY-MM-DD"], ...]``: one entry per stock that traded."""
    day_text: dict[dt.date, str] = {}
    rows = []
    for trade in trades:
        day = trade.time.date()
        text = day_text.get(day)
        if text is None:
            text = day_text[day] = day.isoformat()
        rows.append([trade.code, trade.price, trade.volume, trade.turnover, text])
    return orjson.dumps(rows)


def step_messages(step: Step) -> list[tuple[str, bytes]]:
    """Every channel message of one step, in the order they are published."""
    latest = last_trades(step.trades)
    messages = [(PRICE_PREFIX + code, price_data(trade)) for code, trade in latest.items()]
    messages.extend((ORDERBOOK_PREFIX + book.code, orderbook_data(book)) for book in step.books)
    if latest:
        messages.append((TICKS, ticks_data(latest.values())))
    return messages
