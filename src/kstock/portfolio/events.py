"""A portfolio's writes announce themselves: ``portfolio.changed`` with the portfolio's id, once committed.

The portfolio package publishes through whatever broker the instance runs (``app.state.broker``), known here only
by the one method it calls (:class:`Publisher`); the real-time stream subscribes to :data:`PORTFOLIO_CHANGED_CHANNEL`
(live P&L reloads the holdings, every instance drops its cached copy). So the portfolio never imports the stream.
"""

from __future__ import annotations

import uuid
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.db.session import after_commit
from kstock.portfolio.cache import PortfolioCache

PORTFOLIO_CHANGED_CHANNEL: Final = "portfolio.changed"


class Publisher(Protocol):
    """What a portfolio needs of the broker: publish bytes on a channel (raises when it cannot)."""

    async def publish(self, channel: str, data: bytes) -> object: ...


def announce_change(
    session: AsyncSession, broker: Publisher | None, cache: PortfolioCache | None, portfolio_id: uuid.UUID
) -> None:
    """After the session commits: drop this instance's cached copy at once (a client reads its own write), then
    tell every instance (their caches, their live P&L subscribers)."""

    async def publish() -> None:
        if cache is not None:
            cache.invalidate(portfolio_id)
        if broker is not None:
            await broker.publish(PORTFOLIO_CHANGED_CHANNEL, str(portfolio_id).encode())

    after_commit(session, publish)
