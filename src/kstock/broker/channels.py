"""Every broker channel, named once: publishers and subscribers import the names from here.

A channel name is what :class:`~kstock.broker.base.Broker` publishes and subscribes to; the Redis backend adds the
deployment prefix (``kstock:ch:price:005930``) on the wire. Stock and account channels are a prefix and a key; hot
paths concatenate the prefix themselves (``PRICE_PREFIX + code``) rather than call the helpers.

Each channel, its publisher and its subscribers:

* ``price:{code}`` and ``orderbook:{code}``: the feed, retained; the hub (the rooms of the stock's subscribers) and
  order pricing (:mod:`kstock.trading.market`).
* ``ticks``: the feed, retained; every hub (the market snapshot's live prices).
* ``feed.status``: the feed, retained; order pricing (the market's clock and phase).
* ``account:{id}``: paper trading, after commit; the hub of an instance whose clients watch the account.
* ``portfolio.changed``: portfolio writes, after commit; every hub (cached portfolios, live P&L).
* ``identity.revoked``: identity, after commit; every hub (closes the ended credentials' connections).
"""

from __future__ import annotations

import uuid
from typing import Final

__all__ = [
    "ACCOUNT_PREFIX",
    "FEED_STATUS",
    "IDENTITY_REVOKED",
    "ORDERBOOK_PREFIX",
    "PORTFOLIO_CHANGED",
    "PRICE_PREFIX",
    "TICKS",
    "account",
    "orderbook",
    "price",
]

PRICE_PREFIX: Final = "price:"
"""``price:{code}``: the stock's last trade of a feed step (``price_update`` data)."""
ORDERBOOK_PREFIX: Final = "orderbook:"
"""``orderbook:{code}``: the stock's book after a feed step that changed it (``orderbook_update`` data)."""
TICKS: Final = "ticks"
"""Every stock that traded in a feed step, compact: ``[[code, price, volume, turnover, "YYYY-MM-DD"], ...]``."""
FEED_STATUS: Final = "feed.status"
"""The feed's status (source, phase, market time, speed, counters), about once a second."""
ACCOUNT_PREFIX: Final = "account:"
"""``account:{id}``: a paper-trading account's events (orders, fills, state changes)."""
PORTFOLIO_CHANGED: Final = "portfolio.changed"
"""The id of a portfolio whose holdings a committed write changed."""
IDENTITY_REVOKED: Final = "identity.revoked"
"""Credentials that just ended (:class:`kstock.identity.revocation.Ended`)."""


def price(code: str) -> str:
    """``price:005930``."""
    return PRICE_PREFIX + code


def orderbook(code: str) -> str:
    """``orderbook:005930``."""
    return ORDERBOOK_PREFIX + code


def account(account_id: uuid.UUID | str) -> str:
    """``account:{id}``."""
    return f"{ACCOUNT_PREFIX}{account_id}"
