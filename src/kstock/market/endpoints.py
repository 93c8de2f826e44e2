"""HTTP routes of the market-data API: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Final

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BeforeValidator
from starlette.responses import Response

from kstock.db.session import SessionDep
from kstock.errors import error_responses
from kstock.identity.dependencies import OptionalPrincipal
from kstock.identity.tiers import require_tier
from kstock.kit.calendar import today_kst
from kstock.kit.dates import IsoDate
from kstock.kit.fields import fields_query, model_paths, parse_fields, select
from kstock.kit.openapi import OPTIONAL_CREDENTIALS
from kstock.kit.pagination import PageDep, page_meta
from kstock.kit.responses import JSONResponse
from kstock.kit.validators import STOCK_CODE_PATTERN, lower, upper
from kstock.market import service
from kstock.market.dependencies import ResponseCacheDep, SnapshotDep
from kstock.market.schemas import (
    Financials,
    Interval,
    MarketFilter,
    PeriodType,
    PriceBar,
    PriceHistory,
    SearchResult,
    SortField,
    SortOrder,
    StockDetail,
    StockList,
    StockSummary,
)
from kstock.market.state import state_of

router = APIRouter(prefix="/stocks", tags=["stocks"])

SUMMARY_FIELDS: Final = model_paths(StockSummary)
DETAIL_FIELDS: Final = model_paths(StockDetail)
BAR_FIELDS: Final = model_paths(PriceBar)
ALWAYS_SELECTED: Final = ("code",)
FREE_FINANCIAL_YEARS: Final = 5  # more needs the tier of the "financials.years_over_5" gate


MarketQuery = Annotated[
    MarketFilter,
    BeforeValidator(upper),
    Query(description="KOSPI, KOSDAQ, KONEX or ALL (case-insensitive)"),
]


_FIELDS_HELP = "comma-separated fields to return, dotted for nested ones (code is always included)"
_FIELDS_EXAMPLE = "code,name,latest_price.close_price"
SummaryFieldsQuery = Annotated[str | None, fields_query(SUMMARY_FIELDS, _FIELDS_HELP, _FIELDS_EXAMPLE)]
DetailFieldsQuery = Annotated[str | None, fields_query(DETAIL_FIELDS, _FIELDS_HELP, _FIELDS_EXAMPLE)]
BarFieldsQuery = Annotated[
    str | None,
    fields_query(
        BAR_FIELDS, "comma-separated fields of each bar to return (trade_date is always included)", "close,volume"
    ),
]
StockCode = Annotated[
    str,
    Path(
        description="KRX short code: 6 digits or upper-case letters",
        examples=["005930"],
        max_length=6,
        pattern=STOCK_CODE_PATTERN,
    ),
]


@router.get(
    "",
    response_model=StockList,
    summary="List stocks",
    description="Instruments with their latest price, filtered by market and sector, paged. "
    "Sorted by code unless `sort_by` says otherwise; nulls sort last.",
    responses=error_responses(400, 503),
)
async def list_stocks(
    snapshot: SnapshotDep,
    page: PageDep,
    market: MarketQuery = MarketFilter.ALL,
    sector: Annotated[str | None, Query(max_length=100, examples=["전기전자"])] = None,
    sort_by: Annotated[SortField, BeforeValidator(lower)] = SortField.CODE,
    order: Annotated[SortOrder, BeforeValidator(lower)] = SortOrder.ASC,
    fields: SummaryFieldsQuery = None,
) -> Response:
    selection = parse_fields(fields, SUMMARY_FIELDS, ALWAYS_SELECTED)
    stocks, total = service.list_stocks(
        snapshot,
        market=None if market is MarketFilter.ALL else market.value,
        sector=sector or None,
        sort_by=sort_by.value,
        descending=order is SortOrder.DESC,
        offset=page.offset,
        limit=page.per_page,
    )
    return JSONResponse({"stocks": [select(s, selection) for s in stocks], "meta": page_meta(page, total)})


@router.get(
    "/search",
    response_model=SearchResult,
    summary="Search stocks",
    description="By code prefix (`0059`) or a substring of the Korean or English name (`삼성`, `naver`). "
    "Exact code first, then code prefix, exact name, name prefix, other matches; larger companies first.",
    responses=error_responses(400),
)
async def search_stocks(
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=50, description="code prefix or name part", examples=["삼성"])],
    market: MarketQuery = MarketFilter.ALL,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    query = q.strip()
    stocks = (
        await service.search(session, query, None if market is MarketFilter.ALL else market.value, limit)
        if query
        else []
    )
    return JSONResponse({"query": query, "stocks": stocks, "meta": {"count": len(stocks), "limit": limit}})


@router.get(
    "/{stock_code}",
    response_model=StockDetail,
    summary="One stock",
    description="Identity, latest price and derived indicators (PER, PBR, ROE, dividend yield, 52-week range).",
    responses=error_responses(400, 404, 503),
)
async def get_stock(snapshot: SnapshotDep, stock_code: StockCode, fields: DetailFieldsQuery = None) -> Response:
    code = service.normalize_code(stock_code)
    selection = parse_fields(fields, DETAIL_FIELDS, ALWAYS_SELECTED)
    return JSONResponse(select(service.get_stock(snapshot, code), selection))


@router.get(
    "/{stock_code}/prices",
    response_model=PriceHistory,
    summary="Price history",
    description="Daily bars, or weekly/monthly aggregates (first open, max high, min low, last close, summed "
    "volume; `trade_date` is the last trading day of the period). Defaults: the year up to today. `fields` "
    "picks the fields of each bar (`trade_date` is always included).",
    responses=error_responses(400, 404, 422),
)
async def get_prices(
    session: SessionDep,
    cache: ResponseCacheDep,
    stock_code: StockCode,
    from_date: Annotated[IsoDate | None, Query(examples=["2025-01-01"])] = None,
    to_date: Annotated[IsoDate | None, Query(examples=["2025-12-31"])] = None,
    interval: Annotated[Interval, BeforeValidator(lower)] = Interval.DAILY,
    fields: BarFieldsQuery = None,
) -> Response:
    code = service.normalize_code(stock_code)
    start, end = service.resolve_range(from_date, to_date, today_kst())
    selection = parse_fields(fields, BAR_FIELDS, ("trade_date",))
    names = None if selection is None else tuple(name for name in BAR_FIELDS if name in selection)
    # History changes only when new bars are loaded, which clears the cache; repeated ranges cost a lookup.
    key = ("prices", code, start, end, interval, names)
    body = cache.get(key)
    if body is not None:
        return Response(body, media_type="application/json", headers={"X-Cache": "HIT"})
    prices = await service.price_history(session, code, start, end, interval)
    if names is not None:
        prices = [{name: bar[name] for name in names} for bar in prices]
    body = orjson.dumps(
        {"stock_code": code, "interval": interval.value, "from_date": start, "to_date": end, "prices": prices}
    )
    cache.put(key, body)
    return Response(body, media_type="application/json", headers={"X-Cache": "MISS"})


async def financial_years(
    request: Request,
    principal: OptionalPrincipal,
    years: Annotated[
        int, Query(ge=1, le=10, description="fiscal years, at most 10; more than 5 needs the basic tier")
    ] = 5,
) -> int:
    """``years``, once the caller's tier allows it."""
    if years > FREE_FINANCIAL_YEARS:
        require_tier(principal, "financials.years_over_5", state_of(request).settings)
    return years


@router.get(
    "/{stock_code}/financials",
    response_model=Financials,
    summary="Financial statements",
    description="Quarterly (the default) or annual statements for the latest `years` fiscal years on file, "
    "newest first. ROE = net profit / equity (quarterly figures annualised x4). More than 5 years needs the "
    "basic tier: 401 when anonymous, 403 `TIER_LIMIT_EXCEEDED` on the free tier.",
    responses=error_responses(400, 401, 403, 404),
    # Anonymous callers get up to 5 years: the credentials are optional (the document would say required).
    openapi_extra={"security": OPTIONAL_CREDENTIALS},
)
async def get_financials(
    session: SessionDep,
    stock_code: StockCode,
    years: Annotated[int, Depends(financial_years)],
    period_type: Annotated[PeriodType, BeforeValidator(lower)] = PeriodType.QUARTERLY,
) -> Response:
    code = service.normalize_code(stock_code)
    rows = await service.financials(session, code, period_type, years)
    return JSONResponse({"stock_code": code, "period_type": period_type.value, "financials": rows})
