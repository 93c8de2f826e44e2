"""Portfolio rules: ownership and the write lock, the portfolios themselves (create, rename, delete).

Every write to a portfolio starts by bumping its ``revision`` with an UPDATE that also checks the owner: the
first statement of the transaction takes the portfolio's row lock (PostgreSQL) or the database's write lock
(SQLite), so concurrent writes to one portfolio run one after the other and each replays a ledger that
includes the ones before it. Another user's portfolio matches no row: 404, exactly like a missing one.

The ledger's writes are in ``transactions.py``, valuation and performance in ``valuation.py``, every query in
``repository.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.session import flush_unique
from kstock.errors import ConflictError, NotFoundError, UnprocessableError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota_after_insert
from kstock.kit.clock import iso_utc, utcnow
from kstock.portfolio import repository
from kstock.portfolio.models import Portfolio
from kstock.portfolio.schemas import PortfolioIn, PortfolioPatch


class PortfolioNotFoundError(NotFoundError):
    code = "PORTFOLIO_NOT_FOUND"

    @classmethod
    def of(cls, portfolio_id: uuid.UUID) -> PortfolioNotFoundError:
        """The one answer for a missing portfolio and for another user's."""
        return cls(f"Portfolio {portfolio_id} not found", {"portfolio_id": str(portfolio_id)})


class HoldingNotFoundError(NotFoundError):
    code = "HOLDING_NOT_FOUND"


class TransactionNotFoundError(NotFoundError):
    code = "TRANSACTION_NOT_FOUND"


class PortfolioNameTakenError(ConflictError):
    code = "PORTFOLIO_NAME_TAKEN"
    default_message = "You already have a portfolio with this name"


class InsufficientQuantityError(UnprocessableError):
    code = "INSUFFICIENT_QUANTITY"


def portfolio_dict(portfolio: Portfolio) -> dict[str, Any]:
    return {
        "id": str(portfolio.id),
        "name": portfolio.name,
        "description": portfolio.description,
        "created_at": iso_utc(portfolio.created_at),
        "updated_at": iso_utc(portfolio.updated_at),
    }


async def owned(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> Portfolio:
    portfolio = await repository.owned_portfolio(session, principal.user_id, portfolio_id)
    if portfolio is None:
        raise PortfolioNotFoundError.of(portfolio_id)
    return portfolio


async def lock(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> None:
    """Take the portfolio's write lock (the transaction's first statement) and check its owner."""
    if not await repository.bump_revision(session, principal.user_id, portfolio_id):
        raise PortfolioNotFoundError.of(portfolio_id)


async def create_portfolio(
    session: AsyncSession, principal: Principal, settings: Settings, body: PortfolioIn
) -> Portfolio:
    """A new portfolio within the tier's quota (counted after the insert, under the user's row lock)."""
    now = utcnow()
    portfolio = Portfolio(
        user_id=principal.user_id, name=body.name, description=body.description, created_at=now, updated_at=now
    )
    session.add(portfolio)
    await flush_unique(session, PortfolioNameTakenError(details={"name": body.name}))
    await require_quota_after_insert(session, principal, settings, "portfolios", Portfolio)
    return portfolio


async def update_portfolio(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, body: PortfolioPatch
) -> Portfolio:
    await lock(session, principal, portfolio_id)
    portfolio = await owned(session, principal, portfolio_id)
    if "name" in body.model_fields_set and body.name is not None:
        portfolio.name = body.name
    if "description" in body.model_fields_set:
        portfolio.description = body.description
    await flush_unique(session, PortfolioNameTakenError(details={"name": portfolio.name}))
    return portfolio


async def delete_portfolio(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> None:
    await lock(session, principal, portfolio_id)
    await repository.delete_portfolio(session, portfolio_id)
