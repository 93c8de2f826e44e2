"""Request and response models of the market-data API (the OpenAPI document shows them with examples)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from kstock.kit.pagination import PageMeta
from kstock.market.fields import BY_NAME


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


def _figure(name: str, example: object) -> Any:
    """A response field documented from the screen-field catalog (one description of every figure)."""
    spec = BY_NAME[name]
    unit = f" ({spec.unit})" if spec.unit else ""
    return Field(description=f"{spec.description}{unit}", examples=[example])


class LatestPrice(BaseModel):
    close_price: int = _figure("close_price", 71000)
    change_pct: float | None = _figure("change_pct", 1.43)
    volume: int = _figure("volume", 12_345_678)
    turnover: int | None = _figure("turnover", 876_543_210_000)
    market_cap: int | None = _figure("market_cap", 423_854_000_000_000)
    trade_date: dt.date = Field(examples=["2026-11-20"])


class Indicators(BaseModel):
    """Every derived figure (definitions in docs/api/market-data.md, scores in docs/api/scores.md)."""

    avg_volume_20d: int | None = _figure("avg_volume_20d", 14_200_000)
    per: float | None = _figure("per", 13.25)
    pbr: float | None = _figure("pbr", 1.21)
    psr: float | None = _figure("psr", 1.41)
    eps: int | None = _figure("eps", 5358)
    bps: int | None = _figure("bps", 58_677)
    dps: int | None = _figure("dps", 1444)
    dividend_yield: float | None = _figure("dividend_yield", 2.03)
    roe: float | None = _figure("roe", 9.12)
    roa: float | None = _figure("roa", 6.83)
    operating_margin: float | None = _figure("operating_margin", 10.88)
    net_margin: float | None = _figure("net_margin", 11.79)
    debt_ratio: float | None = _figure("debt_ratio", 26.99)
    revenue_growth_yoy: float | None = _figure("revenue_growth_yoy", 16.2)
    eps_growth_yoy: float | None = _figure("eps_growth_yoy", 122.5)
    revenue_growth_3y: float | None = _figure("revenue_growth_3y", 2.1)
    eps_growth_3y: float | None = _figure("eps_growth_3y", -8.4)
    return_1m: float | None = _figure("return_1m", 4.12)
    return_3m: float | None = _figure("return_3m", -2.5)
    return_1y: float | None = _figure("return_1y", 18.3)
    high_52w: int | None = _figure("high_52w", 88_800)
    low_52w: int | None = _figure("low_52w", 49_900)
    pct_from_52w_high: float | None = _figure("pct_from_52w_high", -20.05)
    pct_from_52w_low: float | None = _figure("pct_from_52w_low", 42.28)
    rsi_14: float | None = _figure("rsi_14", 55.31)
    sma_20: float | None = _figure("sma_20", 70_125.0)
    sma_60: float | None = _figure("sma_60", 68_410.5)
    sma_120: float | None = _figure("sma_120", 72_003.33)
    price_vs_sma_20: float | None = _figure("price_vs_sma_20", 1.25)
    price_vs_sma_60: float | None = _figure("price_vs_sma_60", 3.79)
    price_vs_sma_120: float | None = _figure("price_vs_sma_120", -1.39)
    quality_score: float | None = _figure("quality_score", 74.5)
    value_score: float | None = _figure("value_score", 61.2)
    growth_score: float | None = _figure("growth_score", 48.9)


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
