"""Portfolio rules: ownership, the ledger's writes (serialised per portfolio), valuation at live prices.

Every write to a portfolio starts by bumping its ``revision`` with an UPDATE that also checks the owner: the
first statement of the transaction takes the portfolio's row lock (PostgreSQL) or the database's write lock
(SQLite), so concurrent writes to one portfolio run one after the other and each replays a ledger that
includes the ones before it. Another user's portfolio matches no row: 404, exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.bulk import fetch_tuples
from kstock.db.session import flush_unique
from kstock.errors import ConflictError, NotFoundError, UnprocessableError, ValidationError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota, require_quota_after_insert
from kstock.kit.calendar import today_kst
from kstock.kit.clock import iso_utc, utcnow
from kstock.kit.numbers import percent, rounded
from kstock.market.models import DailyBar
from kstock.market.service import StockNotFoundError, normalize_code
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio import performance as perf
from kstock.portfolio.cache import PortfolioCache
from kstock.portfolio.ledger import Entry, OversellError, replay
from kstock.portfolio.models import Portfolio, PortfolioHolding, PortfolioTransaction
from kstock.portfolio.schemas import HoldingIn, HoldingPatch, PortfolioIn, PortfolioPatch, TransactionIn


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


# -- portfolios ------------------------------------------------------------------------------------------------


def portfolio_dict(portfolio: Portfolio) -> dict[str, Any]:
    return {
        "id": str(portfolio.id),
        "name": portfolio.name,
        "description": portfolio.description,
        "created_at": iso_utc(portfolio.created_at),
        "updated_at": iso_utc(portfolio.updated_at),
    }


async def owned(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> Portfolio:
    statement = select(Portfolio).where(Portfolio.id == portfolio_id, Portfolio.user_id == principal.user_id)
    portfolio = (await session.execute(statement)).scalar_one_or_none()
    if portfolio is None:
        raise PortfolioNotFoundError.of(portfolio_id)
    return portfolio


async def _lock(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> None:
    """Take the portfolio's write lock (the transaction's first statement) and check its owner."""
    result = await session.execute(
        update(Portfolio)
        .where(Portfolio.id == portfolio_id, Portfolio.user_id == principal.user_id)
        .values(revision=Portfolio.revision + 1, updated_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
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
    await _lock(session, principal, portfolio_id)
    portfolio = await owned(session, principal, portfolio_id)
    if "name" in body.model_fields_set and body.name is not None:
        portfolio.name = body.name
    if "description" in body.model_fields_set:
        portfolio.description = body.description
    await flush_unique(session, PortfolioNameTakenError(details={"name": portfolio.name}))
    return portfolio


async def delete_portfolio(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> None:
    await _lock(session, principal, portfolio_id)
    await session.execute(delete(PortfolioHolding).where(PortfolioHolding.portfolio_id == portfolio_id))
    await session.execute(delete(PortfolioTransaction).where(PortfolioTransaction.portfolio_id == portfolio_id))
    await session.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))


# -- the ledger ------------------------------------------------------------------------------------------------


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
    rows = (
        (
            await session.execute(
                select(PortfolioTransaction).where(
                    PortfolioTransaction.portfolio_id == portfolio_id, PortfolioTransaction.stock_code == code
                )
            )
        )
        .scalars()
        .all()
    )
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
    holding = await session.get(PortfolioHolding, (portfolio_id, code))
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
    count = (
        await session.execute(
            select(func.count())
            .select_from(PortfolioHolding)
            .where(PortfolioHolding.portfolio_id == portfolio_id, PortfolioHolding.quantity > 0)
        )
    ).scalar_one()
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
    last = (
        await session.execute(
            select(func.max(PortfolioTransaction.sequence)).where(PortfolioTransaction.portfolio_id == portfolio_id)
        )
    ).scalar()
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
    session.add(transaction)
    await session.flush()
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
    await _lock(session, principal, portfolio_id)
    await _check_day_range(session, code, body.trade_date, body.price)
    transaction = await _record(
        session, portfolio_id, code, body.side, body.quantity, body.price, body.fees, body.trade_date
    )
    await _check_holdings_quota(session, principal, settings, portfolio_id)
    return transaction


async def _check_day_range(session: AsyncSession, code: str, day: dt.date, price: int) -> None:
    """A trade's price must lie within that day's low and high when the day's bar is on file (which also keeps
    it inside the daily limit); without a bar (data not loaded, or today's session) it is taken as given."""
    bar = (
        await session.execute(
            select(DailyBar.low, DailyBar.high).where(DailyBar.code == code, DailyBar.trade_date == day)
        )
    ).first()
    if bar is not None and not bar.low <= price <= bar.high:
        raise ValidationError(
            f"{price} KRW is outside {code}'s range on {day}",
            {"price": [f"outside the day's range: {bar.low} to {bar.high}"]},
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
    await _lock(session, principal, portfolio_id)
    await _record(session, portfolio_id, code, "buy", body.quantity, body.avg_price, 0, body.purchase_date)
    await _check_holdings_quota(session, principal, settings, portfolio_id)
    return code


async def replace_holding(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, raw_code: str, body: HoldingPatch
) -> str:
    """Correct a holding: its ledger becomes one buy of the new quantity at the new average price, dated at its
    first trade (its realized history is dropped with the old entries)."""
    code = normalize_code(raw_code)
    await _lock(session, principal, portfolio_id)
    holding = await session.get(PortfolioHolding, (portfolio_id, code))
    if holding is None or holding.quantity == 0:
        raise HoldingNotFoundError(f"No holding of {code} in this portfolio", {"stock_code": code})
    quantity = body.quantity if body.quantity is not None else holding.quantity
    avg_price = body.avg_price if body.avg_price is not None else holding.cost_basis // holding.quantity
    first = holding.first_trade_date
    await session.execute(
        delete(PortfolioTransaction).where(
            PortfolioTransaction.portfolio_id == portfolio_id, PortfolioTransaction.stock_code == code
        )
    )
    await _record(session, portfolio_id, code, "buy", quantity, avg_price, 0, first)
    return code


async def delete_holding(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, raw_code: str) -> None:
    """Remove a stock from the portfolio: its holding and every entry of its ledger."""
    code = normalize_code(raw_code)
    await _lock(session, principal, portfolio_id)
    holding = await session.get(PortfolioHolding, (portfolio_id, code))
    if holding is None:
        raise HoldingNotFoundError(f"No holding of {code} in this portfolio", {"stock_code": code})
    await session.execute(
        delete(PortfolioTransaction).where(
            PortfolioTransaction.portfolio_id == portfolio_id, PortfolioTransaction.stock_code == code
        )
    )
    await session.delete(holding)


async def delete_transaction(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, transaction_id: uuid.UUID
) -> None:
    """Remove one ledger entry; 422 when a later sell would then sell more than was held."""
    await _lock(session, principal, portfolio_id)
    transaction = (
        await session.execute(
            select(PortfolioTransaction).where(
                PortfolioTransaction.id == transaction_id, PortfolioTransaction.portfolio_id == portfolio_id
            )
        )
    ).scalar_one_or_none()
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
    conditions = [PortfolioTransaction.portfolio_id == portfolio_id]
    if from_date is not None:
        conditions.append(PortfolioTransaction.trade_date >= from_date)
    if to_date is not None:
        conditions.append(PortfolioTransaction.trade_date <= to_date)
    if stock_code is not None:
        conditions.append(PortfolioTransaction.stock_code == normalize_code(stock_code))
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


# -- valuation -------------------------------------------------------------------------------------------------


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


def value_holdings(
    holdings: Sequence[HoldingRow], snapshot: MarketSnapshot
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each open holding at the snapshot's prices, and the portfolio's summary (sums on exact integers).

    A halted or delisted stock keeps its last close (``price_status`` says which); a stock the market data has
    no price for is valued at its cost (``unpriced``).
    """
    table = snapshot.table
    prev_close = table.columns["prev_close"]
    rows: list[dict[str, Any]] = []
    realized = sum(h.realized_gain for h in holdings)
    fees = sum(h.fees for h in holdings)
    for holding in holdings:
        if holding.quantity == 0:  # a closed position: only its realized gain and fees count
            continue
        detail = snapshot.get(holding.stock_code)
        latest = detail["latest_price"] if detail else None
        price: int | None = latest["close_price"] if latest else None
        status = "unpriced" if price is None else (detail or {}).get("status", "active")
        current_value = holding.cost_basis if price is None else price * holding.quantity
        index = table.index.get(holding.stock_code)
        previous = float(prev_close[index]) if index is not None else math.nan
        day_change = 0 if price is None or math.isnan(previous) else (price - int(previous)) * holding.quantity
        rows.append(
            {
                "id": holding.id,
                "stock_code": holding.stock_code,
                "stock_name": detail["name"] if detail else None,
                "sector": detail["sector"] if detail else None,
                "quantity": holding.quantity,
                "avg_price": rounded(holding.cost_basis / holding.quantity, 2),
                "current_price": price,
                "price_status": status,
                "purchase_value": holding.cost_basis,
                "current_value": current_value,
                "unrealized_gain": current_value - holding.cost_basis,
                "unrealized_gain_pct": percent(current_value - holding.cost_basis, holding.cost_basis),
                "day_change": day_change,
                "day_change_pct": percent(day_change, current_value - day_change),
                "realized_gain": holding.realized_gain,
                "fees": holding.fees,
                "first_trade_date": holding.first_trade_date,
            }
        )
    total_cost = sum(r["purchase_value"] for r in rows)
    total_value = sum(r["current_value"] for r in rows)
    day_change_total = sum(r["day_change"] for r in rows)
    by_sector: dict[str | None, int] = defaultdict(int)
    for row in rows:
        row["weight_pct"] = percent(row["current_value"], total_value)
        by_sector[row["sector"]] += row["current_value"]
    rows.sort(key=lambda r: (-r["current_value"], r["stock_code"]))
    allocation = [
        {"sector": sector, "value": value, "weight_pct": percent(value, total_value) or 0.0}
        for sector, value in sorted(by_sector.items(), key=lambda item: (-item[1], item[0] or ""))
    ]
    summary = {
        "holdings_count": len(rows),
        "total_purchase_value": total_cost,
        "total_current_value": total_value,
        "total_unrealized_gain": total_value - total_cost,
        "total_unrealized_gain_pct": percent(total_value - total_cost, total_cost),
        "total_realized_gain": realized,
        "total_fees": fees,
        "day_change": day_change_total,
        "day_change_pct": percent(day_change_total, total_value - day_change_total),
        "sector_allocation": allocation,
    }
    return rows, summary


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
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID | None
) -> dict[Any, tuple[dict[str, Any], list[HoldingRow]]]:
    """The caller's portfolios (one, or all) with their holdings (closed ones too, for their realized gains): one
    query through the driver, plain rows.

    This is the read path of every valuation, so it skips the ORM: a portfolio of 100 holdings costs one round
    trip and no object construction.
    """
    if portfolio_id is None:
        sql, params = _PORTFOLIO_SQL + " WHERE p.user_id = ? ORDER BY p.created_at, p.id", [principal.user_id]
    else:
        sql, params = _PORTFOLIO_SQL + " WHERE p.id = ? AND p.user_id = ?", [portfolio_id, principal.user_id]
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


async def portfolio_detail(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot
) -> dict[str, Any]:
    found = await portfolios_with_holdings(session, principal, portfolio_id)
    if not found:
        raise PortfolioNotFoundError.of(portfolio_id)
    ((header, holdings),) = found.values()
    rows, summary = value_holdings(holdings, snapshot)
    return {**header, "holdings": rows, "summary": summary}


async def portfolio_detail_body(
    session: AsyncSession,
    principal: Principal,
    portfolio_id: uuid.UUID,
    snapshot: MarketSnapshot,
    cache: PortfolioCache,
) -> bytes:
    """The rendered detail of the caller's portfolio: holdings from the cache (or one query), valued and rendered
    once per snapshot revision."""
    entry = cache.get(portfolio_id, principal.user_id)
    if entry is None:
        generation = cache.generation(portfolio_id)
        found = await portfolios_with_holdings(session, principal, portfolio_id)
        if not found:
            raise PortfolioNotFoundError.of(portfolio_id)
        ((header, holdings),) = found.values()
        entry = cache.put(portfolio_id, principal.user_id, header, holdings, generation)
    revision = snapshot.revision
    if entry.body is None or entry.body_revision != revision:
        rows, summary = value_holdings(entry.holdings, snapshot)
        entry.body = orjson.dumps(
            {**entry.header, "holdings": rows, "summary": summary}, option=orjson.OPT_NON_STR_KEYS
        )
        entry.body_revision = revision
    return entry.body


async def list_portfolios(
    session: AsyncSession, principal: Principal, snapshot: MarketSnapshot
) -> list[dict[str, Any]]:
    items = []
    for header, holdings in (await portfolios_with_holdings(session, principal, None)).values():
        _, summary = value_holdings(holdings, snapshot)
        items.append(
            {
                **header,
                "holdings_count": summary["holdings_count"],
                "total_value": summary["total_current_value"],
                "unrealized_gain": summary["total_unrealized_gain"],
                "unrealized_gain_pct": summary["total_unrealized_gain_pct"],
                "day_change": summary["day_change"],
            }
        )
    return items


# -- performance -----------------------------------------------------------------------------------------------


async def portfolio_performance(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot
) -> dict[str, Any]:
    """The value history from daily closes since the first trade, the time-weighted return and the drawdown."""
    await owned(session, principal, portfolio_id)
    rows = (
        (
            await session.execute(
                select(PortfolioTransaction)
                .where(PortfolioTransaction.portfolio_id == portfolio_id)
                .order_by(PortfolioTransaction.trade_date, PortfolioTransaction.sequence)
            )
        )
        .scalars()
        .all()
    )
    trades = [
        perf.Trade(r.trade_date, r.stock_code, "buy" if r.side == "buy" else "sell", r.quantity, r.price, r.fees)
        for r in rows
    ]
    as_of = snapshot.table.as_of or today_kst()
    closes: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    if trades:
        statement = (
            select(DailyBar.code, DailyBar.trade_date, DailyBar.close)
            .where(
                DailyBar.code.in_({t.stock_code for t in trades}),
                DailyBar.trade_date >= trades[0].trade_date,
                DailyBar.trade_date <= as_of,
            )
            .order_by(DailyBar.code, DailyBar.trade_date)
        )
        for code, day, close in (await session.execute(statement)).all():
            closes[code].append((day, close))
    result = perf.performance(trades, closes, as_of)
    return {
        "portfolio_id": str(portfolio_id),
        "as_of": as_of,
        "start_date": result.start_date,
        "end_date": result.end_date,
        "start_value": result.start_value,
        "end_value": result.end_value,
        "net_contributions": result.net_contributions,
        "time_weighted_return_pct": result.time_weighted_return_pct,
        "max_drawdown_pct": result.max_drawdown_pct,
        "peak_date": result.peak_date,
        "trough_date": result.trough_date,
        "history": [
            {
                "date": day.date,
                "value": day.value,
                "buys": day.buys,
                "sells": day.sells,
                "daily_return_pct": None if day.daily_return is None else rounded(day.daily_return * 100, 2),
                "cumulative_return_pct": rounded(day.cumulative_return * 100, 2),
            }
            for day in result.history
        ],
    }
