"""Every portfolio query. The services hold the rules and call these for the rows; each takes the caller's session,
so the transaction stays theirs. Writes flush; the request's session dependency commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.db.bulk import fetch_tuples
from kstock.kit.clock import iso_utc, utcnow
from kstock.portfolio.models import Portfolio, PortfolioHolding, PortfolioTransaction

# -- portfolios ------------------------------------------------------------------------------------------------


async def owned_portfolio(session: AsyncSession, user_id: uuid.UUID, portfolio_id: uuid.UUID) -> Portfolio | None:
    """The user's portfolio; None for a missing one and for another user's."""
    statement = select(Portfolio).where(Portfolio.id == portfolio_id, Portfolio.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def bump_revision(session: AsyncSession, user_id: uuid.UUID, portfolio_id: uuid.UUID) -> bool:
    """The portfolio's write lock: an UPDATE of its revision that checks the owner; False when no row matched."""
    result = await session.execute(
        update(Portfolio)
        .where(Portfolio.id == portfolio_id, Portfolio.user_id == user_id)
        .values(revision=Portfolio.revision + 1, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_portfolio(session: AsyncSession, portfolio_id: uuid.UUID) -> None:
    """The portfolio with its holdings and its ledger."""
    await session.execute(delete(PortfolioHolding).where(PortfolioHolding.portfolio_id == portfolio_id))
    await session.execute(delete(PortfolioTransaction).where(PortfolioTransaction.portfolio_id == portfolio_id))
    await session.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))


# -- holdings --------------------------------------------------------------------------------------------------


async def holding(session: AsyncSession, portfolio_id: uuid.UUID, code: str) -> PortfolioHolding | None:
    return await session.get(PortfolioHolding, (portfolio_id, code))


async def open_holdings_count(session: AsyncSession, portfolio_id: uuid.UUID) -> int:
    """How many stocks the portfolio holds now (closed positions do not count)."""
    statement = (
        select(func.count())
        .select_from(PortfolioHolding)
        .where(PortfolioHolding.portfolio_id == portfolio_id, PortfolioHolding.quantity > 0)
    )
    return int((await session.execute(statement)).scalar_one())


# -- the ledger ------------------------------------------------------------------------------------------------


async def stock_transactions(
    session: AsyncSession, portfolio_id: uuid.UUID, code: str
) -> Sequence[PortfolioTransaction]:
    """One stock's ledger entries (any order: the replay sorts them)."""
    statement = select(PortfolioTransaction).where(
        PortfolioTransaction.portfolio_id == portfolio_id, PortfolioTransaction.stock_code == code
    )
    return (await session.execute(statement)).scalars().all()


async def last_sequence(session: AsyncSession, portfolio_id: uuid.UUID) -> int | None:
    """The highest entry sequence of the portfolio's ledger (None when it is empty)."""
    statement = select(func.max(PortfolioTransaction.sequence)).where(PortfolioTransaction.portfolio_id == portfolio_id)
    return (await session.execute(statement)).scalar()


async def add_transaction(session: AsyncSession, transaction: PortfolioTransaction) -> None:
    session.add(transaction)
    await session.flush()


async def delete_stock_transactions(session: AsyncSession, portfolio_id: uuid.UUID, code: str) -> None:
    """Every ledger entry of one stock."""
    await session.execute(
        delete(PortfolioTransaction).where(
            PortfolioTransaction.portfolio_id == portfolio_id, PortfolioTransaction.stock_code == code
        )
    )


async def transaction(
    session: AsyncSession, portfolio_id: uuid.UUID, transaction_id: uuid.UUID
) -> PortfolioTransaction | None:
    statement = select(PortfolioTransaction).where(
        PortfolioTransaction.id == transaction_id, PortfolioTransaction.portfolio_id == portfolio_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def transactions(
    session: AsyncSession,
    portfolio_id: uuid.UUID,
    *,
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
    stock_code: str | None = None,
    side: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[PortfolioTransaction], int]:
    """The ledger in trade order (oldest first), filtered; and how many entries match."""
    conditions = [PortfolioTransaction.portfolio_id == portfolio_id]
    if from_date is not None:
        conditions.append(PortfolioTransaction.trade_date >= from_date)
    if to_date is not None:
        conditions.append(PortfolioTransaction.trade_date <= to_date)
    if stock_code is not None:
        conditions.append(PortfolioTransaction.stock_code == stock_code)
    if side is not None:
        conditions.append(PortfolioTransaction.side == side)
    total = (
        await session.execute(select(func.count()).select_from(PortfolioTransaction).where(*conditions))
    ).scalar_one()
    statement = (
        select(PortfolioTransaction)
        .where(*conditions)
        .order_by(PortfolioTransaction.trade_date, PortfolioTransaction.sequence)
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list((await session.execute(statement)).scalars()), int(total)


async def ledger(session: AsyncSession, portfolio_id: uuid.UUID) -> Sequence[PortfolioTransaction]:
    """The whole ledger in trade order (oldest first)."""
    statement = (
        select(PortfolioTransaction)
        .where(PortfolioTransaction.portfolio_id == portfolio_id)
        .order_by(PortfolioTransaction.trade_date, PortfolioTransaction.sequence)
    )
    return (await session.execute(statement)).scalars().all()


# -- the read path of every valuation --------------------------------------------------------------------------


class HoldingRow(NamedTuple):
    stock_code: str
    quantity: int
    cost_basis: int
    realized_gain: int
    fees: int
    first_trade_date: dt.date
    id: str  # holding_id(portfolio, stock_code)


def holding_id(portfolio_id: uuid.UUID, stock_code: str) -> str:
    """A holding's id: a holding is its portfolio's position in one stock, so its id is the UUID v5 of the stock code
    in the portfolio's namespace, the same on every read and every instance for as long as the position exists."""
    return str(uuid.uuid5(portfolio_id, stock_code))


_PORTFOLIO_SQL = (
    "SELECT p.id, p.name, p.description, p.created_at, p.updated_at,"
    " h.stock_code, h.quantity, h.cost_basis, h.realized_gain, h.fees, h.first_trade_date"
    " FROM portfolios p LEFT JOIN portfolio_holdings h ON h.portfolio_id = p.id"
)


def _as_datetime(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


async def portfolios_with_holdings(
    session: AsyncSession, user_id: uuid.UUID, portfolio_id: uuid.UUID | None
) -> dict[Any, tuple[dict[str, Any], list[HoldingRow]]]:
    """The user's portfolios (one, or all) with their holdings (closed ones too, for their realized gains): one
    query through the driver, plain rows.

    This is the read path of every valuation, so it skips the ORM: a portfolio of 100 holdings costs one round
    trip and no object construction.
    """
    if portfolio_id is None:
        sql, params = _PORTFOLIO_SQL + " WHERE p.user_id = ? ORDER BY p.created_at, p.id", [user_id]
    else:
        sql, params = _PORTFOLIO_SQL + " WHERE p.id = ? AND p.user_id = ?", [portfolio_id, user_id]
    found: dict[Any, tuple[dict[str, Any], list[HoldingRow]]] = {}
    for pid, name, description, created, updated, code, quantity, cost, realized, fees, first in await fetch_tuples(
        session, sql, params
    ):
        entry = found.get(pid)
        if entry is None:
            key = str(uuid.UUID(str(pid)))  # SQLite hands back the 32 hex digits, PostgreSQL a UUID
            header = {
                "id": key,
                "name": name,
                "description": description,
                "created_at": iso_utc(_as_datetime(created)),
                "updated_at": iso_utc(_as_datetime(updated)),
            }
            entry = found[pid] = (header, [])
        if code is not None:
            ident = holding_id(uuid.UUID(entry[0]["id"]), code)
            entry[1].append(HoldingRow(code, quantity, cost, realized, fees, _as_date(first), ident))
    return found
