"""Per instance: each portfolio's holdings as last read, and its valued detail rendered at the market snapshot's
revision, so a repeated ``GET /v1/portfolios/{id}`` costs neither a query nor a valuation.

An entry answers only its owner (anyone else goes to the database, which says 404). It is dropped when the
portfolio changes: at once on the instance that committed the write, and on every other instance when the
``portfolio.changed`` message arrives (milliseconds later). A generation number per portfolio keeps a read that
started before a write from caching what it read after the write's invalidation; entries also expire after
``ttl_s``, a bound on staleness should an invalidation be lost (a broker outage).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstock.portfolio.repository import HoldingRow


@dataclass(slots=True)
class CachedPortfolio:
    user_id: uuid.UUID
    header: dict[str, Any]
    holdings: list[HoldingRow]
    loaded_at: float
    body: bytes | None = None
    body_revision: int = -1


class PortfolioCache:
    def __init__(self, max_entries: int = 10_000, ttl_s: float = 30.0) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[uuid.UUID, CachedPortfolio] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}
        self.hits = 0
        self.misses = 0

    def generation(self, portfolio_id: uuid.UUID) -> int:
        """Read before loading from the database; hand it to :meth:`put`."""
        return self._generations.get(portfolio_id, 0)

    def get(self, portfolio_id: uuid.UUID, user_id: uuid.UUID) -> CachedPortfolio | None:
        entry = self._entries.get(portfolio_id)
        if entry is None or entry.user_id != user_id or time.monotonic() - entry.loaded_at > self.ttl_s:
            self.misses += 1
            return None
        self._entries.move_to_end(portfolio_id)
        self.hits += 1
        return entry

    def put(
        self,
        portfolio_id: uuid.UUID,
        user_id: uuid.UUID,
        header: dict[str, Any],
        holdings: list[HoldingRow],
        generation: int,
    ) -> CachedPortfolio:
        """Keep what was read, unless the portfolio changed since ``generation`` was taken."""
        entry = CachedPortfolio(user_id, header, holdings, time.monotonic())
        if self.max_entries <= 0 or self.generation(portfolio_id) != generation:
            return entry
        self._entries[portfolio_id] = entry
        self._entries.move_to_end(portfolio_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def invalidate(self, portfolio_id: uuid.UUID) -> None:
        self._generations[portfolio_id] = self._generations.get(portfolio_id, 0) + 1
        self._entries.pop(portfolio_id, None)

    def clear(self) -> None:
        for portfolio_id in list(self._entries):
            self.invalidate(portfolio_id)

    def __len__(self) -> int:
        return len(self._entries)
