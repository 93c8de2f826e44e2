"""Live P&L: the ``portfolio:{id}`` channel of a portfolio's owner.

Each instance values the portfolios its own clients watch: holdings are read once from the database (the owner
check is the same query), prices come from the market snapshot that the feed's ticks keep current, and a
portfolio is revalued at the end of a batching window in which one of its stocks traded. A write to the
portfolio (a transaction, a holding edited) is announced on ``portfolio.changed`` after its commit
(:mod:`kstock.portfolio.events`), and every instance watching it reloads the holdings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker

from kstock.identity.principal import Principal
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio.repository import HoldingRow, portfolios_with_holdings
from kstock.portfolio.service import PortfolioNotFoundError
from kstock.portfolio.valuation import value_holdings
from kstock.stream.connection import Connection
from kstock.stream.protocol import Clock, message, portfolio_frame
from kstock.stream.watches import CodeIndex
from kstock.stream.wire import Prepared

log = structlog.get_logger("kstock.stream.portfolios")


@dataclass(eq=False)
class _Watch:
    portfolio_id: str
    principal: Principal
    header: dict[str, Any]
    holdings: list[HoldingRow]
    connections: set[Connection] = field(default_factory=set)
    sequence: int = 0
    dirty: bool = False

    @property
    def codes(self) -> set[str]:
        return {h.stock_code for h in self.holdings if h.quantity}


class PortfolioWatcher:
    def __init__(self, sessionmaker: async_sessionmaker[Any], snapshot: MarketSnapshot) -> None:
        self._sessionmaker = sessionmaker
        self._snapshot = snapshot
        self._watches: dict[str, _Watch] = {}
        self._index: CodeIndex[_Watch] = CodeIndex()
        self._reloads: set[asyncio.Task[None]] = set()
        self._clock = Clock()

    async def _load(self, principal: Principal, portfolio_id: uuid.UUID) -> tuple[dict[str, Any], list[HoldingRow]]:
        async with self._sessionmaker() as session:
            found = await portfolios_with_holdings(session, principal.user_id, portfolio_id)
        if not found:
            raise PortfolioNotFoundError.of(portfolio_id)
        ((header, holdings),) = found.values()
        return header, holdings

    async def watch(self, connection: Connection, raw_id: str) -> Prepared:
        """Start pushing the portfolio's P&L to ``connection``; PortfolioNotFoundError unless it owns it.

        Returns the portfolio's current valuation, for the caller to send after its acknowledgement."""
        try:
            portfolio_id = uuid.UUID(raw_id)
        except ValueError as exc:
            raise PortfolioNotFoundError("Portfolio not found", {"portfolio_id": raw_id}) from exc
        key = str(portfolio_id)
        watch = self._watches.get(key)
        if watch is None or watch.principal.user_id != connection.principal.user_id:
            header, holdings = await self._load(connection.principal, portfolio_id)
            watch = self._watches.get(key)
            if watch is None:
                watch = self._watches[key] = _Watch(key, connection.principal, header, holdings)
                self._index.add(watch)
        watch.connections.add(connection)
        connection.own("portfolio", key)
        return self._frame(watch, self._clock.iso())

    def unwatch(self, connection: Connection, raw_id: str) -> None:
        key = raw_id
        try:
            key = str(uuid.UUID(raw_id))
        except ValueError:
            return
        watch = self._watches.get(key)
        connection.disown("portfolio", key)
        if watch is None:
            return
        watch.connections.discard(connection)
        if not watch.connections:
            self._index.remove(watch)
            del self._watches[key]

    def forget(self, connection: Connection) -> None:
        for key in connection.owned_ids("portfolio"):
            self.unwatch(connection, key)

    def prices_moved(self, codes: Iterable[str]) -> None:
        self._index.prices_moved(codes)

    def changed(self, raw_id: str) -> None:
        """A write to the portfolio committed somewhere: reload its holdings if someone here watches it."""
        watch = self._watches.get(raw_id)
        if watch is None:
            return
        task = asyncio.create_task(self._reload(watch))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload(self, watch: _Watch) -> None:
        try:
            header, holdings = await self._load(watch.principal, uuid.UUID(watch.portfolio_id))
        except PortfolioNotFoundError:  # deleted: tell its watchers and stop
            gone = Prepared(message("unsubscribed", portfolio_id=watch.portfolio_id, reason="portfolio deleted"))
            for connection in list(watch.connections):
                connection.offer(("portfolio", watch.portfolio_id), gone)
                connection.subscriptions.pop(f"portfolio_id:{watch.portfolio_id}", None)
                self.unwatch(connection, watch.portfolio_id)
            return
        except Exception:
            log.exception("portfolio_reload_failed", portfolio_id=watch.portfolio_id)
            return
        self._index.remove(watch)
        watch.header, watch.holdings = header, holdings
        self._index.add(watch)
        watch.dirty = True

    def _frame(self, watch: _Watch, timestamp: str) -> Prepared:
        holdings, summary = value_holdings(watch.holdings, self._snapshot) if self._snapshot.loaded else ([], {})
        watch.sequence += 1
        data = {"name": watch.header["name"], "holdings": holdings, "summary": summary}
        return Prepared(portfolio_frame(watch.portfolio_id, data, watch.sequence, timestamp))

    def flush(self, timestamp: str) -> list[Connection]:
        """Revalue the portfolios whose stocks moved; returns the connections that could not take the frame."""
        blocked = []
        for watch in self._watches.values():
            if not watch.dirty:
                continue
            watch.dirty = False
            frame = self._frame(watch, timestamp)
            for connection in watch.connections:
                if not connection.offer(("portfolio", watch.portfolio_id), frame):
                    blocked.append(connection)
        return blocked
