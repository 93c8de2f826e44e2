"""Every paper-trading query: the desk, the control API, the engine and the strategy runner hold rules and call
these for the rows. Each takes the caller's session (or sessionmaker's session): the transaction stays theirs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.kit.clock import as_utc, utcnow
from kstock.market.models import Instrument
from kstock.trading.models import (
    OPEN,
    TradingAccount,
    TradingEquity,
    TradingEvent,
    TradingFill,
    TradingOrder,
    TradingPosition,
    TradingSignal,
    TradingStrategy,
)

SELL = "sell"

# -- accounts --------------------------------------------------------------------------------------------------


async def bump_revision(session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    """The account's write lock: an UPDATE of its revision (checking the owner when given); False when no row
    matched."""
    statement = update(TradingAccount).where(TradingAccount.id == account_id)
    if user_id is not None:
        statement = statement.where(TradingAccount.user_id == user_id)
    result = await session.execute(statement.values(revision=TradingAccount.revision + 1, updated_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fresh_account(session: AsyncSession, account_id: uuid.UUID) -> TradingAccount | None:
    return await session.get(TradingAccount, account_id, populate_existing=True)


async def account_of(session: AsyncSession, account_id: uuid.UUID) -> TradingAccount | None:
    return await session.get(TradingAccount, account_id)


async def owned_account(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> TradingAccount | None:
    statement = select(TradingAccount).where(TradingAccount.id == account_id, TradingAccount.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def accounts_of(session: AsyncSession, user_id: uuid.UUID) -> list[TradingAccount]:
    statement = select(TradingAccount).where(TradingAccount.user_id == user_id).order_by(TradingAccount.created_at)
    return list((await session.execute(statement)).scalars())


async def all_account_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.execute(select(TradingAccount.id))).scalars())


async def clear_history(session: AsyncSession, account_id: uuid.UUID) -> None:
    """An account's orders, fills, positions, signals and equity curve (a reset)."""
    for table in (TradingFill, TradingSignal, TradingOrder, TradingPosition, TradingEquity):
        await session.execute(delete(table).where(table.account_id == account_id))


async def delete_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(delete(TradingAccount).where(TradingAccount.id == account_id))


# -- positions -------------------------------------------------------------------------------------------------


async def open_positions(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TradingPosition]]:
    """The open positions of several accounts in one query, by account, each in stock-code order."""
    statement = (
        select(TradingPosition)
        .where(TradingPosition.account_id.in_(account_ids), TradingPosition.quantity > 0)
        .order_by(TradingPosition.stock_code)
    )
    by_account: dict[uuid.UUID, list[TradingPosition]] = {account_id: [] for account_id in account_ids}
    for position in (await session.execute(statement)).scalars():
        by_account[position.account_id].append(position)
    return by_account


async def positions_of(session: AsyncSession, account_id: uuid.UUID) -> list[TradingPosition]:
    return (await open_positions(session, [account_id]))[account_id]


async def position_for(session: AsyncSession, account_id: uuid.UUID, code: str) -> TradingPosition | None:
    return await session.get(TradingPosition, (account_id, code))


async def load_positions(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Every position row of the account into the session (so the fills that follow find them without a query)."""
    await session.execute(select(TradingPosition).where(TradingPosition.account_id == account_id))


async def holders(session: AsyncSession) -> set[uuid.UUID]:
    """The accounts holding an open position."""
    statement = select(TradingPosition.account_id).where(TradingPosition.quantity > 0)
    return set((await session.execute(statement)).scalars())


# -- orders ----------------------------------------------------------------------------------------------------


async def order_activity(
    session: AsyncSession, account_id: uuid.UUID, code: str, now: dt.datetime
) -> tuple[int, tuple[dt.datetime, ...]]:
    """In one query: the shares of ``code`` already in open sell orders, and when the account's orders of the last
    second were placed (for the order-rate check)."""
    since = now - dt.timedelta(seconds=1)
    statement = select(
        TradingOrder.stock_code,
        TradingOrder.side,
        TradingOrder.status,
        TradingOrder.quantity - TradingOrder.filled_quantity,
        TradingOrder.created_at,
    ).where(
        TradingOrder.account_id == account_id,
        or_(
            and_(TradingOrder.status == OPEN, TradingOrder.side == SELL, TradingOrder.stock_code == code),
            TradingOrder.created_at > since,
        ),
    )
    open_sell = 0
    recent = []
    for stock_code, side, status, remaining, created_at in await session.execute(statement):
        if status == OPEN and side == SELL and stock_code == code:
            open_sell += remaining
        created = as_utc(created_at)
        if created > since:
            recent.append(created)
    return open_sell, tuple(recent)


async def order_by_idempotency_key(session: AsyncSession, account_id: uuid.UUID, key: str) -> TradingOrder | None:
    statement = select(TradingOrder).where(TradingOrder.account_id == account_id, TradingOrder.idempotency_key == key)
    return (await session.execute(statement)).scalar_one_or_none()


async def order_by_preview(session: AsyncSession, account_id: uuid.UUID, preview_id: uuid.UUID) -> TradingOrder | None:
    statement = select(TradingOrder).where(TradingOrder.account_id == account_id, TradingOrder.preview_id == preview_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def order(session: AsyncSession, order_id: uuid.UUID) -> TradingOrder | None:
    return await session.get(TradingOrder, order_id)


async def orders_page(
    session: AsyncSession, account_id: uuid.UUID, status: str | None, offset: int, limit: int
) -> tuple[list[TradingOrder], int]:
    """A page of the account's orders (newest first), and how many there are."""
    conditions = [TradingOrder.account_id == account_id]
    if status:
        conditions.append(TradingOrder.status == status)
    total = (await session.execute(select(func.count()).select_from(TradingOrder).where(*conditions))).scalar_one()
    statement = (
        select(TradingOrder)
        .where(*conditions)
        .order_by(TradingOrder.created_at.desc(), TradingOrder.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars()), int(total)


async def open_orders(session: AsyncSession, account_id: uuid.UUID) -> list[TradingOrder]:
    statement = (
        select(TradingOrder)
        .where(TradingOrder.account_id == account_id, TradingOrder.status == OPEN)
        .order_by(TradingOrder.created_at)
    )
    return list((await session.execute(statement)).scalars())


async def markets_of_orders(session: AsyncSession, account_id: uuid.UUID, codes: Sequence[str]) -> dict[str, str]:
    """The market each of ``codes`` was traded on by the account (a position's market: every position comes from
    the account's own orders)."""
    if not codes:
        return {}
    statement = (
        select(TradingOrder.stock_code, TradingOrder.market)
        .where(TradingOrder.account_id == account_id, TradingOrder.stock_code.in_(codes))
        .distinct()
    )
    return {code: market for code, market in (await session.execute(statement)).all()}


async def resting_orders(session: AsyncSession) -> Sequence[Any]:
    """Every open order as the matcher keeps it (id, account, code, side, limit, remaining, trade date), in time
    priority."""
    statement = (
        select(
            TradingOrder.id,
            TradingOrder.account_id,
            TradingOrder.stock_code,
            TradingOrder.side,
            TradingOrder.limit_price,
            TradingOrder.quantity - TradingOrder.filled_quantity,
            TradingOrder.trade_date,
        )
        .where(TradingOrder.status == OPEN)
        .order_by(TradingOrder.created_at, TradingOrder.id)
    )
    return (await session.execute(statement)).all()


async def fresh_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TradingOrder]:
    """The orders re-read from the database (what a concurrent cancel wrote is seen)."""
    statement = select(TradingOrder).where(TradingOrder.id.in_(order_ids)).execution_options(populate_existing=True)
    return {order.id: order for order in (await session.execute(statement)).scalars()}


async def accounts_with_orders_until(session: AsyncSession, day: dt.date) -> set[uuid.UUID]:
    statement = select(TradingOrder.account_id).where(TradingOrder.status == OPEN, TradingOrder.trade_date <= day)
    return set((await session.execute(statement)).scalars())


async def orders_until(session: AsyncSession, account_id: uuid.UUID, day: dt.date) -> list[TradingOrder]:
    """The account's open orders of ``day`` and earlier."""
    statement = select(TradingOrder).where(
        TradingOrder.account_id == account_id, TradingOrder.status == OPEN, TradingOrder.trade_date <= day
    )
    return list((await session.execute(statement)).scalars())


# -- fills -----------------------------------------------------------------------------------------------------


async def fills_of(session: AsyncSession, order_id: uuid.UUID) -> list[TradingFill]:
    statement = (
        select(TradingFill)
        .where(TradingFill.order_id == order_id)
        .order_by(TradingFill.executed_at, TradingFill.recorded_at)
    )
    return list((await session.execute(statement)).scalars())


async def unsettled(session: AsyncSession, account_id: uuid.UUID, today: dt.date) -> list[tuple[int, dt.date]]:
    """The net cash and settlement day of every fill not settled by ``today``."""
    statement = select(TradingFill.net_cash, TradingFill.settles_on).where(
        TradingFill.account_id == account_id, TradingFill.settles_on > today
    )
    return [(net, day) for net, day in (await session.execute(statement)).all()]


async def fills_page(
    session: AsyncSession, account_id: uuid.UUID, start: dt.date | None, end: dt.date | None, offset: int, limit: int
) -> tuple[list[TradingFill], int]:
    conditions = [TradingFill.account_id == account_id]
    if start is not None:
        conditions.append(TradingFill.trade_date >= start)
    if end is not None:
        conditions.append(TradingFill.trade_date <= end)
    total = (await session.execute(select(func.count()).select_from(TradingFill).where(*conditions))).scalar_one()
    statement = (
        select(TradingFill)
        .where(*conditions)
        .order_by(TradingFill.executed_at.desc(), TradingFill.recorded_at.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars()), int(total)


async def sells_since(session: AsyncSession, account_id: uuid.UUID, since: dt.datetime) -> list[TradingFill]:
    statement = select(TradingFill).where(
        TradingFill.account_id == account_id, TradingFill.side == SELL, TradingFill.recorded_at >= since
    )
    return list((await session.execute(statement)).scalars())


async def equity_since(
    session: AsyncSession, account_id: uuid.UUID, since: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    statement = (
        select(TradingEquity.at, TradingEquity.equity)
        .where(TradingEquity.account_id == account_id, TradingEquity.at >= since)
        .order_by(TradingEquity.at)
    )
    return [(at, equity) for at, equity in (await session.execute(statement)).all()]


# -- history ---------------------------------------------------------------------------------------------------


async def signals_page(
    session: AsyncSession, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[TradingSignal], int]:
    condition = TradingSignal.account_id == account_id
    total = (await session.execute(select(func.count()).select_from(TradingSignal).where(condition))).scalar_one()
    statement = select(TradingSignal).where(condition).order_by(TradingSignal.at.desc()).offset(offset).limit(limit)
    return list((await session.execute(statement)).scalars()), int(total)


async def events_page(
    session: AsyncSession, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[TradingEvent], int]:
    condition = TradingEvent.account_id == account_id
    total = (await session.execute(select(func.count()).select_from(TradingEvent).where(condition))).scalar_one()
    statement = select(TradingEvent).where(condition).order_by(TradingEvent.id.desc()).offset(offset).limit(limit)
    return list((await session.execute(statement)).scalars()), int(total)


# -- strategies ------------------------------------------------------------------------------------------------


async def strategies_of(session: AsyncSession, account_id: uuid.UUID) -> list[TradingStrategy]:
    statement = (
        select(TradingStrategy).where(TradingStrategy.account_id == account_id).order_by(TradingStrategy.created_at)
    )
    return list((await session.execute(statement)).scalars())


async def running_strategies(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The id and name of the account's enabled strategies."""
    statement = select(TradingStrategy.id, TradingStrategy.name).where(
        TradingStrategy.account_id == account_id, TradingStrategy.enabled
    )
    return [(strategy_id, name) for strategy_id, name in (await session.execute(statement)).all()]


async def strategy(session: AsyncSession, strategy_id: uuid.UUID) -> TradingStrategy | None:
    return await session.get(TradingStrategy, strategy_id)


async def enabled_strategies(session: AsyncSession) -> list[TradingStrategy]:
    return list((await session.execute(select(TradingStrategy).where(TradingStrategy.enabled))).scalars())


async def disable_strategy(session: AsyncSession, strategy_id: uuid.UUID, error: str) -> None:
    await session.execute(
        update(TradingStrategy)
        .where(TradingStrategy.id == strategy_id)
        .values(enabled=False, error=error, updated_at=utcnow())
    )


async def instrument_markets(session: AsyncSession) -> dict[str, str]:
    """Every listed stock's market (the strategy runner's quotes in the feed process, which has no snapshot)."""
    return dict((await session.execute(select(Instrument.code, Instrument.market))).all())
