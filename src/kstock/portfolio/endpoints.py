"""HTTP routes of the portfolio API. Every route needs a signed-in user and sees only that user's portfolios."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from starlette.responses import Response

from kstock.db.session import SessionDep
from kstock.errors import error_responses
from kstock.identity.dependencies import CurrentPrincipal
from kstock.identity.tiers import quota_limit
from kstock.kit.dates import IsoDate, require_order
from kstock.kit.pagination import PageDep, page_meta
from kstock.kit.responses import JSONResponse
from kstock.kit.validators import STOCK_CODE_PATTERN, StrictUUID
from kstock.market.dependencies import SnapshotDep
from kstock.portfolio import export, service, transactions, valuation
from kstock.portfolio.events import announce_change
from kstock.portfolio.schemas import (
    HoldingIn,
    HoldingOut,
    HoldingPatch,
    PerformanceOut,
    PortfolioDetail,
    PortfolioIn,
    PortfolioList,
    PortfolioOut,
    PortfolioPatch,
    TransactionIn,
    TransactionList,
    TransactionOut,
)
from kstock.portfolio.state import state_of

router = APIRouter(prefix="/portfolios", tags=["portfolios"])

PortfolioId = Annotated[StrictUUID, Path(description="the portfolio's id")]
HoldingCode = Annotated[
    str, Path(description="the holding's stock code", examples=["005930"], max_length=6, pattern=STOCK_CODE_PATTERN)
]


def _announce(request: Request, session: SessionDep, portfolio_id: uuid.UUID) -> None:
    """Live P&L subscribers of the portfolio, on every instance, reload it once this request commits."""
    state = state_of(request)
    announce_change(session, state.broker, state.portfolio_cache, portfolio_id)


_NOT_YOURS = "Another user's portfolio answers 404 `PORTFOLIO_NOT_FOUND`, exactly like a missing one."


@router.post(
    "",
    response_model=PortfolioOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a portfolio",
    description="Free tier: 3 portfolios, basic 20, pro unlimited (403 `TIER_LIMIT_EXCEEDED` beyond). Names are "
    "unique per user (409 `PORTFOLIO_NAME_TAKEN`).",
    responses=error_responses(400, 403, 409, 413),
)
async def create_portfolio(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: PortfolioIn
) -> Response:
    portfolio = await service.create_portfolio(session, principal, state_of(request).settings, body)
    return JSONResponse(service.portfolio_dict(portfolio), status_code=status.HTTP_201_CREATED)


@router.get(
    "",
    response_model=PortfolioList,
    summary="My portfolios",
    description="Each with its holdings count and value at current prices; `meta.limit` is the tier's quota.",
    responses=error_responses(400),
)
async def list_portfolios(session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal) -> Response:
    items = await valuation.list_portfolios(session, principal, snapshot)
    meta = {"count": len(items), "limit": quota_limit(principal, "portfolios")}
    return JSONResponse({"portfolios": items, "meta": meta})


@router.get(
    "/{portfolio_id}",
    response_model=PortfolioDetail,
    summary="One portfolio, valued",
    description="Holdings at current prices (moving-average cost, day change, weight) and the summary with the "
    f"sector allocation. {_NOT_YOURS}",
    responses=error_responses(400, 404),
)
async def get_portfolio(
    request: Request, session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, portfolio_id: PortfolioId
) -> Response:
    cache = state_of(request).portfolio_cache
    body = await valuation.portfolio_detail_body(session, principal, portfolio_id, snapshot, cache)
    return Response(body, media_type="application/json")


@router.patch(
    "/{portfolio_id}",
    response_model=PortfolioOut,
    summary="Rename or describe a portfolio",
    responses=error_responses(400, 404, 409, 413),
)
async def update_portfolio(
    request: Request, session: SessionDep, principal: CurrentPrincipal, portfolio_id: PortfolioId, body: PortfolioPatch
) -> Response:
    """Rename the portfolio or change its description; give at least one of them."""
    portfolio = await service.update_portfolio(session, principal, portfolio_id, body)
    _announce(request, session, portfolio_id)
    return JSONResponse(service.portfolio_dict(portfolio))


@router.delete(
    "/{portfolio_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a portfolio",
    description="With its holdings and its whole ledger.",
    responses=error_responses(400, 404),
)
async def delete_portfolio(
    request: Request, session: SessionDep, principal: CurrentPrincipal, portfolio_id: PortfolioId
) -> Response:
    await service.delete_portfolio(session, principal, portfolio_id)
    _announce(request, session, portfolio_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{portfolio_id}/holdings",
    response_model=HoldingOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a holding",
    description="Recorded in the ledger as a buy of `quantity` at `avg_price` on `purchase_date` (no fees). "
    "404 `STOCK_NOT_FOUND` for an unknown code; 400 for a date in the future or before the listing. Free tier: "
    "20 holdings per portfolio, basic 100.",
    responses=error_responses(400, 403, 404, 413),
)
async def add_holding(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    body: HoldingIn,
) -> Response:
    settings = state_of(request).settings
    code = await transactions.add_holding(session, principal, settings, snapshot, portfolio_id, body)
    _announce(request, session, portfolio_id)
    return JSONResponse(
        await valuation.holding_detail(session, principal, portfolio_id, snapshot, code), status_code=201
    )


@router.patch(
    "/{portfolio_id}/holdings/{stock_code}",
    response_model=HoldingOut,
    summary="Correct a holding",
    description="Sets its quantity and/or average price: the stock's ledger becomes one buy at the new figures, "
    "dated at its first trade (its earlier entries and realized gain are dropped).",
    responses=error_responses(400, 404, 413),
)
async def replace_holding(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    stock_code: HoldingCode,
    body: HoldingPatch,
) -> Response:
    code = await transactions.replace_holding(session, principal, portfolio_id, stock_code, body)
    _announce(request, session, portfolio_id)
    return JSONResponse(await valuation.holding_detail(session, principal, portfolio_id, snapshot, code))


@router.delete(
    "/{portfolio_id}/holdings/{stock_code}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a holding",
    description="Deletes the holding and every ledger entry of that stock in this portfolio.",
    responses=error_responses(400, 404),
)
async def delete_holding(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    stock_code: HoldingCode,
) -> Response:
    await transactions.delete_holding(session, principal, portfolio_id, stock_code)
    _announce(request, session, portfolio_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{portfolio_id}/transactions",
    response_model=TransactionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a trade",
    description="A buy or a sell; the stock's holding is replayed from its ledger (moving-average cost). Prices "
    "on the KRX tick grid (400 otherwise, naming the nearest valid prices). Selling more than is held at that "
    "date is 422 `INSUFFICIENT_QUANTITY`, and nothing is stored.",
    responses=error_responses(400, 403, 404, 413, 422),
)
async def add_transaction(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    body: TransactionIn,
) -> Response:
    settings = state_of(request).settings
    transaction = await transactions.add_transaction(session, principal, settings, snapshot, portfolio_id, body)
    _announce(request, session, portfolio_id)
    return JSONResponse(transactions.transaction_dict(transaction), status_code=status.HTTP_201_CREATED)


Side = Literal["buy", "sell"]


@router.get(
    "/{portfolio_id}/transactions",
    response_model=TransactionList,
    summary="The ledger",
    description="Oldest first (trade date, then entry order), filtered by dates, stock and side, paged.",
    responses=error_responses(400, 404, 422),
)
async def list_transactions(
    session: SessionDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    page: PageDep,
    from_date: IsoDate | None = None,
    to_date: IsoDate | None = None,
    stock_code: Annotated[str | None, Query(max_length=6, pattern=STOCK_CODE_PATTERN)] = None,
    side: Side | None = None,
) -> Response:
    if from_date is not None and to_date is not None:
        require_order(from_date, to_date)
    rows, total = await transactions.list_transactions(
        session,
        principal,
        portfolio_id,
        from_date=from_date,
        to_date=to_date,
        stock_code=stock_code,
        side=side,
        offset=page.offset,
        limit=page.per_page,
    )
    return JSONResponse(
        {"transactions": [transactions.transaction_dict(r) for r in rows], "meta": page_meta(page, total)}
    )


@router.delete(
    "/{portfolio_id}/transactions/{transaction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a ledger entry",
    description="The stock's holding is replayed without it; 422 `INSUFFICIENT_QUANTITY` when a later sell would "
    "then sell more than was held (nothing changes).",
    responses=error_responses(400, 404, 422),
)
async def delete_transaction(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    portfolio_id: PortfolioId,
    transaction_id: Annotated[StrictUUID, Path(description="the entry's id")],
) -> Response:
    await transactions.delete_transaction(session, principal, portfolio_id, transaction_id)
    _announce(request, session, portfolio_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{portfolio_id}/performance",
    response_model=PerformanceOut,
    summary="Performance",
    description="The value from daily closes on every trading day since the first trade, the time-weighted "
    "return (money put in or taken out does not count as return) and the maximum drawdown of that return. "
    "Definitions in docs/api/portfolios.md.",
    responses=error_responses(400, 404),
)
async def get_performance(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, portfolio_id: PortfolioId
) -> Response:
    return JSONResponse(await valuation.portfolio_performance(session, principal, portfolio_id, snapshot))


def _csv(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_response(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """The OpenAPI 200 of a CSV export: text with the header line and one example row."""
    example = ",".join(columns) + "\r\n" + ",".join(str(value) for value in row) + "\r\n"
    schema = {"type": "string", "maxLength": 100_000_000}
    return {
        "description": "CSV (UTF-8), one header line",
        "content": {"text/csv": {"schema": schema, "example": example}},
    }


_HOLDINGS_CSV = _csv_response(
    export.HOLDING_COLUMNS,
    [
        "005930",
        "삼성전자",
        "전기전자",
        10,
        68000,
        71000,
        "live",
        680000,
        710000,
        30000,
        4.41,
        5000,
        100.0,
        0,
        0,
        "2025-01-10",
    ],
)
_TRANSACTIONS_CSV = _csv_response(
    export.TRANSACTION_COLUMNS,
    ["3f2b6c1e-4d1a-4a58-9f7e-0c6a1b2d3e4f", "2025-01-10", "buy", "005930", 10, 68000, 0, 0, "2025-01-10T06:30:00Z"],
)


@router.get(
    "/{portfolio_id}/holdings.csv",
    summary="Holdings as CSV",
    response_class=Response,
    responses={200: _HOLDINGS_CSV, **error_responses(400, 404)},
)
async def export_holdings(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, portfolio_id: PortfolioId
) -> Response:
    """Every holding at snapshot prices, one line each, with a header line (the columns of a holding)."""
    content = await export.holdings_csv(session, principal, portfolio_id, snapshot)
    return _csv(content, f"portfolio-{portfolio_id}-holdings.csv")


@router.get(
    "/{portfolio_id}/transactions.csv",
    summary="The ledger as CSV",
    response_class=Response,
    responses={200: _TRANSACTIONS_CSV, **error_responses(400, 404)},
)
async def export_transactions(session: SessionDep, principal: CurrentPrincipal, portfolio_id: PortfolioId) -> Response:
    """Every ledger entry, oldest first, with a header line (the columns of a transaction)."""
    content = await export.transactions_csv(session, principal, portfolio_id)
    return _csv(content, f"portfolio-{portfolio_id}-transactions.csv")
