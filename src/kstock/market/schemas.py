"""Request and response models of the market-data API (the OpenAPI document shows them with examples)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field

from kstock.kit.pagination import PageMeta


class MarketFilter(StrEnum):
    KOSPI = "KOSPI"
    KOSDAQ = "KOSDAQ"
    KONEX = "KONEX"
    ALL = "ALL"


class Interval(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class PeriodType(StrEnum):
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class SortField(StrEnum):
    CODE = "code"
    NAME = "name"
    MARKET_CAP = "market_cap"
    CLOSE_PRICE = "close_price"
    CHANGE_PCT = "change_pct"
    VOLUME = "volume"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class LatestPrice(BaseModel):
    close_price: int = Field(description="KRW", examples=[71000])
    change_pct: float | None = Field(description="vs the previous close, %", examples=[1.43])
    volume: int = Field(description="shares", examples=[12_345_678])
    market_cap: int | None = Field(description="KRW", examples=[423_854_000_000_000])
    trade_date: dt.date = Field(examples=["2026-11-20"])


class Indicators(BaseModel):
    per: float | None = Field(examples=[13.25])
    pbr: float | None = Field(examples=[1.21])
    roe: float | None = Field(description="%", examples=[9.12])
    dividend_yield: float | None = Field(description="%", examples=[2.03])
    eps: int | None = Field(description="trailing twelve months, KRW", examples=[5358])
    bps: int | None = Field(description="KRW", examples=[58_677])
    dps: int | None = Field(description="KRW, latest annual", examples=[1444])
    high_52w: int | None = Field(examples=[88_800])
    low_52w: int | None = Field(examples=[49_900])
    quality_score: float | None = Field(description="0-100; null until computed", examples=[None])
    value_score: float | None = Field(description="0-100; null until computed", examples=[None])
    growth_score: float | None = Field(description="0-100; null until computed", examples=[None])


class StockSummary(BaseModel):
    code: str = Field(examples=["005930"])
    name: str = Field(examples=["삼성전자"])
    market: str = Field(examples=["KOSPI"])
    sector: str | None = Field(examples=["전기전자"])
    industry: str | None = Field(examples=["반도체"])
    latest_price: LatestPrice | None


class StockList(BaseModel):
    stocks: list[StockSummary]
    meta: PageMeta


class StockDetail(StockSummary):
    name_en: str | None = Field(examples=["Samsung Electronics"])
    isin: str | None = Field(examples=["KR7005930003"])
    segment: str | None = Field(description="KOSDAQ/KONEX department or KOSDAQ GLOBAL", examples=[None])
    listing_date: dt.date | None = Field(examples=["1975-06-11"])
    shares_outstanding: int | None = Field(examples=[5_969_782_550])
    status: str = Field(description="active, halted or delisted", examples=["active"])
    indicators: Indicators | None


class SearchHit(BaseModel):
    code: str = Field(examples=["035420"])
    name: str = Field(examples=["NAVER"])
    name_en: str | None = Field(examples=["NAVER"])
    market: str = Field(examples=["KOSPI"])
    sector: str | None = Field(examples=["서비스업"])
    status: str = Field(examples=["active"])


class SearchResult(BaseModel):
    query: str = Field(examples=["네이"])
    stocks: list[SearchHit]
    meta: dict[str, int] = Field(examples=[{"count": 1, "limit": 20}])


class PriceBar(BaseModel):
    trade_date: dt.date = Field(description="the last trading day of the bar's period", examples=["2026-11-20"])
    open: int = Field(examples=[70_500])
    high: int = Field(examples=[71_400])
    low: int = Field(examples=[70_100])
    close: int = Field(examples=[71_000])
    volume: int = Field(examples=[12_345_678])


class PriceHistory(BaseModel):
    stock_code: str = Field(examples=["005930"])
    interval: Interval
    from_date: dt.date = Field(examples=["2025-11-20"])
    to_date: dt.date = Field(examples=["2026-11-20"])
    prices: list[PriceBar]


class FinancialPeriod(BaseModel):
    fiscal_year: int = Field(examples=[2025])
    fiscal_quarter: int | None = Field(description="1-4; null for annual rows", examples=[3])
    report_date: dt.date = Field(examples=["2025-11-14"])
    revenue: int | None = Field(description="KRW", examples=[79_100_000_000_000])
    operating_profit: int | None = Field(description="KRW", examples=[9_180_000_000_000])
    net_profit: int | None = Field(description="KRW", examples=[10_100_000_000_000])
    eps: int | None = Field(description="KRW", examples=[1_490])
    bps: int | None = Field(description="KRW", examples=[58_677])
    dps: int | None = Field(description="KRW", examples=[361])
    roe: float | None = Field(description="net profit / equity, %, quarterly annualised x4", examples=[10.2])
    operating_margin: float | None = Field(description="%", examples=[11.6])
    net_margin: float | None = Field(description="%", examples=[12.77])


class Financials(BaseModel):
    stock_code: str = Field(examples=["005930"])
    period_type: PeriodType
    financials: list[FinancialPeriod]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    checks: dict[str, str] = Field(examples=[{"database": "ok", "schema": "0002", "market_snapshot": "version 3"}])
