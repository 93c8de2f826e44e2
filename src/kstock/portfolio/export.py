"""CSV exports: a portfolio's holdings at snapshot prices and its ledger, one header line each."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.identity.principal import Principal
from kstock.market.snapshot import MarketSnapshot
from kstock.portfolio import transactions, valuation

HOLDING_COLUMNS = (
    "stock_code stock_name sector quantity avg_price current_price price_status purchase_value current_value "
    "unrealized_gain unrealized_gain_pct day_change weight_pct realized_gain fees first_trade_date"
).split()
TRANSACTION_COLUMNS = "id trade_date side stock_code quantity price fees realized_gain created_at".split()


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs read the Korean names


async def holdings_csv(
    session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID, snapshot: MarketSnapshot
) -> bytes:
    """Every holding at snapshot prices, one line each (the columns of a holding)."""
    detail = await valuation.portfolio_detail(session, principal, portfolio_id, snapshot)
    return _csv(HOLDING_COLUMNS, ([h[c] for c in HOLDING_COLUMNS] for h in detail["holdings"]))


async def transactions_csv(session: AsyncSession, principal: Principal, portfolio_id: uuid.UUID) -> bytes:
    """Every ledger entry, oldest first (the columns of a transaction)."""
    entries, _ = await transactions.list_transactions(
        session, principal, portfolio_id, from_date=None, to_date=None, stock_code=None, side=None, offset=0, limit=None
    )
    return _csv(
        TRANSACTION_COLUMNS, ([transactions.transaction_dict(t)[c] for c in TRANSACTION_COLUMNS] for t in entries)
    )
