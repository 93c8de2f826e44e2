"""The market as an order sees it: the stock's book, base price, last price, the market's clock and phase.

Two sources give the same :class:`Quote`:

- :class:`MarketView`, in API instances: the feed's retained broker messages (``orderbook:{code}``,
  ``price:{code}``, ``feed.status``), so every instance prices orders against the one feed. Without a feed (none
  has published yet) the book is empty and the phase follows the KRX calendar: orders wait for the market.
- :func:`quote_from_simulator`, in the feed process: the simulator itself.

The trading day an order belongs to (:func:`order_day`) is the market's day while its session has not ended, and
the next trading day after the close (an order placed in the evening waits for the next opening auction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kstock.broker import Broker, channels
from kstock.kit.calendar import CLOSE, KST, Phase, is_trading_day, next_trading_day, session_phase
from kstock.kit.clock import utcnow
from kstock.market.snapshot import MarketSnapshot
from kstock.sources import OrderBook, QuoteSource


@dataclass(frozen=True, slots=True)
class Quote:
    code: str
    market: str
    book: OrderBook
    base_price: int  # the previous close: the daily price band's centre
    last_price: int | None
    market_time: dt.datetime  # aware
    fed: bool  # a feed has published this stock's book: False means orders can only wait

    @property
    def phase(self) -> Phase:
        return self.book.phase

    @property
    def trade_date(self) -> dt.date:
        return order_day(self.market_time)


def order_day(market_time: dt.datetime) -> dt.date:
    """The trading day an order placed at ``market_time`` belongs to (and expires with)."""
    local = market_time.astimezone(KST)
    day = local.date()
    if not is_trading_day(day) or local.time() >= CLOSE:
        return next_trading_day(day)
    return day


def _levels(rows: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(row["price"]), int(row["volume"])) for row in rows or ())


def _time(text: str | None, default: dt.datetime) -> dt.datetime:
    if not text:
        return default
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_book(code: str, data: bytes, phase: Phase | None = None) -> OrderBook:
    """An ``orderbook_update``'s data as the source's :class:`OrderBook` (``phase`` overrides a stale one)."""
    raw = orjson.loads(data)
    book_phase = Phase(raw.get("phase") or Phase.CLOSED)
    return OrderBook(
        code=code,
        asks=_levels(raw.get("asks")),
        bids=_levels(raw.get("bids")),
        time=_time(raw.get("timestamp"), utcnow()),
        phase=phase or book_phase,
        expected_price=raw.get("expected_price"),
        halted=bool(raw.get("halted")),
    )


def snapshot_prices(snapshot: MarketSnapshot | None) -> Callable[[str], int | None]:
    """The price each instance values positions at: the snapshot's live close (the feed's ticks keep it current);
    None for a stock without one."""

    def price(code: str) -> int | None:
        if snapshot is None or not snapshot.loaded:
            return None
        detail = snapshot.get(code)
        latest = detail.get("latest_price") if detail else None
        close = latest.get("close_price") if latest else None
        return int(close) if close else None

    return price


class MarketView:
    """Quotes from the feed's retained messages (any API instance, any broker backend)."""

    def __init__(self, broker: Broker | None, snapshot: MarketSnapshot | None) -> None:
        self.broker = broker
        self._stored_close = snapshot_prices(snapshot)

    async def feed_status(self) -> dict[str, Any] | None:
        if self.broker is None:
            return None
        message = await self.broker.latest(channels.FEED_STATUS)
        return None if message is None else dict(orjson.loads(message.data))

    async def quote(self, code: str, market: str) -> Quote:
        status = await self.feed_status()
        if status is not None:
            market_time = _time(status.get("market_time"), utcnow())
            phase = Phase(status.get("phase") or Phase.CLOSED)
        else:
            market_time = utcnow()
            phase = session_phase(market_time)
        book_message = price_message = None
        if self.broker is not None:
            book_message = await self.broker.latest(channels.ORDERBOOK_PREFIX + code)
            price_message = await self.broker.latest(channels.PRICE_PREFIX + code)
        if book_message is not None:
            book = parse_book(code, book_message.data, phase)
        else:
            book = OrderBook(code=code, asks=(), bids=(), time=market_time, phase=phase)
        stored_close = self._stored_close(code)
        base_price, last_price = stored_close, stored_close
        if price_message is not None:
            price = orjson.loads(price_message.data)
            last_price = int(price["current_price"])
            printed = _time(price.get("timestamp"), market_time).astimezone(KST).date()
            today = market_time.astimezone(KST).date()
            # A print of today carries today's base price; an older one's last price is the close that followed it.
            base_price = last_price - int(price.get("change_amount") or 0) if printed == today else last_price
        if base_price is None:
            base_price = _book_mid(book) or 0
        return Quote(code, market, book, base_price, last_price, market_time, fed=book_message is not None)


def _book_mid(book: OrderBook) -> int | None:
    if book.asks and book.bids:
        return (book.asks[0][0] + book.bids[0][0]) // 2
    return None


def quote_from_simulator(simulator: QuoteSource, code: str, market: str, now: dt.datetime) -> Quote:
    """The simulator's own view of ``code`` (the feed process): its book, its base price and its last trade."""
    book = simulator.book(code)
    last = simulator.last_trade(code)
    base = simulator.base_price(code)
    return Quote(code, market, book, base, last.price if last else base, now, fed=True)
