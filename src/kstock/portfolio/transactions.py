"""The ledger's writes and reads: trades, holdings recorded as buys, corrections, deletions, the listing.

Each write takes the portfolio's lock first (``service.lock``), appends or removes entries and replays the
touched stock's ledger into its holding row in the same transaction (``ledger.replay``: 422 on an oversell).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.errors import ValidationError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota
from kstock.kit.clock import iso_utc, utcnow
from kstock.market import repository as market_repository
from kstock.market.service import StockNotFoundError, normalize_code
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio import repository
from kstock.portfolio.ledger import Entry, OversellError, replay
from kstock.portfolio.models import PortfolioHolding, PortfolioTransaction
from kstock.portfolio.schemas import HoldingIn, HoldingPatch, TransactionIn
from kstock.portfolio.service import (
    HoldingNotFoundError,
    InsufficientQuantityError,
    TransactionNotFoundError,
    lock,
    owned,
)


def check_trade(snapshot: MarketSnapshot, raw_code: str, trade_date: dt.date) -> str:
    """The normalised code of a listed stock, once the date is on or after its listing (the request model has
    checked what needs no market data: the date not in the future, a trade's trading day and tick)."""
    code = normalize_code(raw_code)
    detail = snapshot.get(code)
    if detail is None:
        raise StockNotFoundError(f"Stock {code} not found", {"stock_code": code})
    listed: dt.date | None = detail["listing_date"]
    if listed is not None and trade_date < listed:
        raise ValidationError(
            f"{code} was listed on {listed}", {"trade_date": [f"must be on or after the listing date {listed}"]}
        )
    return code


async def _rebuild(session: AsyncSession, portfolio_id: uuid.UUID, code: str) -> None:
    """Replay one stock's ledger into its holding row and its sells' realized gains (422 on an oversell)."""
    rows = await repository.stock_transactions(session, portfolio_id, code)
    entries = [Entry(r.id, r.sequence, r.side, r.quantity, r.price, r.fees, r.trade_date) for r in rows]
    try:
        position = replay(entries)
    except OversellError as exc:
        raise InsufficientQuantityError(
            f"Selling {exc.entry.quantity} {code} on {exc.entry.trade_date} with {exc.held} held",
            {"stock_code": code, "trade_date": exc.entry.trade_date.isoformat(), "held": exc.held},
        ) from None
    for row in rows:
        row.realized_gain = position.realized_by_entry.get(row.id) if row.side == "sell" else None
    holding = await repository.holding(session, portfolio_id, code)
    if position.first_trade_date is None:
        if holding is not None:
            await session.delete(holding)
        return
    if holding is None:
        holding = PortfolioHolding(portfolio_id=portfolio_id, stock_code=code)
        session.add(holding)
    holding.quantity = position.quantity
    holding.cost_basis = position.cost_basis
    holding.realized_gain = position.realized_gain
    holding.fees = position.fees
    holding.first_trade_date = position.first_trade_date
    await session.flush()


async def _check_holdings_quota(
    session: AsyncSession, principal: Principal, settings: Settings, portfolio_id: uuid.UUID
) -> None:
    count = await repository.open_holdings_count(session, portfolio_id)
    require_quota(principal, "portfolio_holdings", count, settings)


async def _record(
    session: AsyncSession,
    portfolio_id: uuid.UUID,
    code: str,
    side: str,
    quantity: int,
    price: int,
    fees: int,
    day: dt.date,
) -> PortfolioTransaction:
    """Append one entry to the ledger and replay its stock's holding (422 on an oversell)."""
    last = await repository.last_sequence(session, portfolio_id)
    transaction = PortfolioTransaction(
        portfolio_id=portfolio_id,
        sequence=(last or 0) + 1,
        side=side,
        stock_code=code,
        quantity=quantity,
        price=price,
        fees=fees,
        trade_date=day,
        created_at=utcnow(),
    )
    await repository.add_transaction(session, transaction)
    await _rebuild(session, portfolio_id, code)
    return transaction


async def add_transaction(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    snapshot: MarketSnapshot,
    portfolio_id: uuid.UUID,
    body: TransactionIn,
) -> PortfolioTransaction:
    code = check_trade(snapshot, body.stock_code, body.trade_date)
    await lock(session, principal, portfolio_id)
    await _check_day_range(session, code, body.trade_date, body.price)
    transaction = await _record(
        session, portfolio_id, code, body.side, body.quantity, body.price, body.fees, body.trade_date
    )
    await _check_holdings_quota(session, principal, settings, portfolio_id)
    return transaction


async def _check_day_range(session: AsyncSession, code: str, day: dt.date, price: int) -> None:
    """A trade's price must lie within that day's low and high when the day's bar is on file (which also keeps
    it inside the daily limit); without a bar (data not loaded, or today's session) it is taken as given."""
    bar = await market_repository.day_range(session, code, day)
    if bar is None:
        return
    low, high = bar
    if not low <= price <= high:
        raise ValidationError(
            f"{price} KRW is outside {code}'s range on {day}",
            {"price": [f"outside the day's range: {low} to {high}"]},
        )


async def add_holding(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    snapshot: MarketSnapshot,
    portfolio_id: uuid.UUID,
    body: HoldingIn,
) -> str:
    """Record a holding as a buy of ``quantity`` at ``avg_price`` on ``purchase_date``; returns the stock code."""
    code = check_trade(snapshot, body.stock_code, body.purchase_date)
    await lock(session, principal, portfolio_id)
    await _record(session, portfolio_id, code, "buy", body.quantity, body.avg_price, 0, body.purchase_date)
    await _check_holdings_quota(session, principal, settings, portfolio_id)
    return code


async def replace_holding(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, raw_code: str, body: HoldingPatch
) -> str:
    """Correct a holding: its ledger becomes one buy of the new quantity at the new average price, dated at its
    first trade (its realized history is dropped with the old entries)."""
    code = normalize_code(raw_code)
    await lock(session, principal, portfolio_id)
    holding = await repository.holding(session, portfolio_id, code)
    if holding is None or holding.quantity == 0:
        raise HoldingNotFoundError(f"No holding of {code} in this portfolio", {"stock_code": code})
    quantity = body.quantity if body.quantity is not None else holding.quantity
    avg_price = body.avg_price if body.avg_price is not None else holding.cost_basis // holding.quantity
    first = holding.first_trade_date
    await repository.delete_stock_transactions(session, portfolio_id, code)
    await _record(session, portfolio_id, code, "buy", quantity, avg_price, 0, first)
    return code


async def delete_holding(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, raw_code: str) -> None:
    """Remove a stock from the portfolio: its holding and every entry of its ledger."""
    code = normalize_code(raw_code)
    await lock(session, principal, portfolio_id)
    holding = await repository.holding(session, portfolio_id, code)
    if holding is None:
        raise HoldingNotFoundError(f"No holding of {code} in this portfolio", {"stock_code": code})
    await repository.delete_stock_transactions(session, portfolio_id, code)
    await session.delete(holding)


async def delete_transaction(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, transaction_id: uuid.UUID
) -> None:
    """Remove one ledger entry; 422 when a later sell would then sell more than was held."""
    await lock(session, principal, portfolio_id)
    transaction = await repository.transaction(session, portfolio_id, transaction_id)
    if transaction is None:
        raise TransactionNotFoundError(
            f"Transaction {transaction_id} not found", {"transaction_id": str(transaction_id)}
        )
    code = transaction.stock_code
    await session.delete(transaction)
    await session.flush()
    await _rebuild(session, portfolio_id, code)


def transaction_dict(transaction: PortfolioTransaction) -> dict[str, Any]:
    return {
        "id": str(transaction.id),
        "side": transaction.side,
        "stock_code": transaction.stock_code,
        "quantity": transaction.quantity,
        "price": transaction.price,
        "fees": transaction.fees,
        "trade_date": transaction.trade_date,
        "realized_gain": transaction.realized_gain,
        "created_at": iso_utc(transaction.created_at),
    }


async def list_transactions(
    session: AsyncSession,
    principal: Principal,
    portfolio_id: uuid.UUID,
    *,
    from_date: dt.date | None,
    to_date: dt.date | None,
    stock_code: str | None,
    side: str | None,
    offset: int,
    limit: int | None,
) -> tuple[list[PortfolioTransaction], int]:
    """The ledger in trade order (oldest first), filtered; and how many entries match."""
    await owned(session, principal, portfolio_id)
    return await repository.transactions(
        session,
        portfolio_id,
        from_date=from_date,
        to_date=to_date,
        stock_code=None if stock_code is None else normalize_code(stock_code),
        side=side,
        offset=offset,
        limit=limit,
    )
