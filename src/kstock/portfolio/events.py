"""A portfolio write announced on ``portfolio.changed`` once it has committed: every instance drops its cached
copy and reloads the holdings its live P&L subscribers watch (:mod:`kstock.stream.portfolios`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.broker import Broker
from kstock.broker.channels import PORTFOLIO_CHANGED
from kstock.db.session import after_commit
from kstock.portfolio.cache import PortfolioCache


def announce_change(
    session: AsyncSession, broker: Broker | None, cache: PortfolioCache | None, portfolio_id: uuid.UUID
) -> None:
    """After the session commits: drop this instance's cached copy at once (a client reads its own write), then
    tell every instance (their caches, their live P&L subscribers)."""

    async def publish() -> None:
        if cache is not None:
            cache.invalidate(portfolio_id)
        if broker is not None:
            await broker.publish(PORTFOLIO_CHANGED, str(portfolio_id).encode())

    after_commit(session, publish)
