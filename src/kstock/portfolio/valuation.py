"""Portfolios valued at the market snapshot's prices: the detail (rendered once per snapshot revision), the
list, and the performance over daily closes since the first trade."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.identity.principal import Principal
from kstock.kit.calendar import today_kst
from kstock.kit.numbers import percent, rounded
from kstock.market import repository as market_repository
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio import performance as perf
from kstock.portfolio import repository
from kstock.portfolio.cache import PortfolioCache
from kstock.portfolio.repository import HoldingRow
from kstock.portfolio.service import PortfolioNotFoundError, owned


def value_holdings(
    holdings: Sequence[HoldingRow], snapshot: MarketSnapshot
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each open holding at the snapshot's prices, and the portfolio's summary (sums on exact integers).

    A halted or delisted stock keeps its last close (``price_status`` says which); a stock the market data has
    no price for is valued at its cost (``unpriced``).
    """
    snapshot.require_loaded()
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
        previous = snapshot.previous_close(holding.stock_code)
        day_change = 0 if price is None or previous is None else (price - previous) * holding.quantity
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


async def portfolio_detail(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot
) -> dict[str, Any]:
    found = await repository.portfolios_with_holdings(session, principal.user_id, portfolio_id)
    if not found:
        raise PortfolioNotFoundError.of(portfolio_id)
    ((header, holdings),) = found.values()
    rows, summary = value_holdings(holdings, snapshot)
    return {**header, "holdings": rows, "summary": summary}


async def holding_detail(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot, code: str
) -> dict[str, Any]:
    """One open holding of the caller's portfolio, valued (the answer of a holding's write)."""
    detail = await portfolio_detail(session, principal, portfolio_id, snapshot)
    holding: dict[str, Any] = next(h for h in detail["holdings"] if h["stock_code"] == code)
    return holding


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
        found = await repository.portfolios_with_holdings(session, principal.user_id, portfolio_id)
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
    for header, holdings in (await repository.portfolios_with_holdings(session, principal.user_id, None)).values():
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


async def portfolio_performance(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot
) -> dict[str, Any]:
    """The value history from daily closes since the first trade, the time-weighted return and the drawdown."""
    await owned(session, principal, portfolio_id)
    rows = await repository.ledger(session, portfolio_id)
    trades = [
        perf.Trade(r.trade_date, r.stock_code, "buy" if r.side == "buy" else "sell", r.quantity, r.price, r.fees)
        for r in rows
    ]
    as_of = snapshot.as_of or today_kst()
    closes: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    if trades:
        closes = await market_repository.closes(session, {t.stock_code for t in trades}, trades[0].trade_date, as_of)
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
