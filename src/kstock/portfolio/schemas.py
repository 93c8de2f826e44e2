"""Request and response models of the portfolio API (the OpenAPI document shows them with examples)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from kstock.kit.calendar import is_trading_day, today_kst
from kstock.kit.dates import IsoDate
from kstock.kit.krx import is_on_tick, round_down_to_tick, round_up_to_tick
from kstock.kit.pagination import PageMeta
from kstock.kit.validators import STOCK_CODE_PATTERN, JsonInt

Quantity = Annotated[int, Field(ge=1, le=10**12, examples=[10]), JsonInt]
Krw = Annotated[int, Field(ge=1, le=10**10, examples=[68_000]), JsonInt]
Name = Annotated[str, Field(min_length=1, max_length=100, examples=["연금 계좌"])]
Description = Annotated[str, Field(max_length=500, examples=["Long-term dividend holdings"])]
StockCode = Annotated[str, Field(max_length=6, pattern=STOCK_CODE_PATTERN, examples=["005930"])]


# Checks that need nothing but the value run with the model's validation, so a request's every bad field is
# reported at once; what needs the market data (the stock, its listing date, the day's range) comes after.
def _not_in_future(day: dt.date) -> dt.date:
    today = today_kst()
    if day > today:
        raise ValueError(f"must be on or before {today}")
    return day


def _trading_day(day: dt.date) -> dt.date:
    if not is_trading_day(day):
        raise ValueError("must be a KRX trading day")
    return day


def _on_tick(price: int) -> int:
    if not is_on_tick(price):
        raise ValueError(f"not on the tick grid: {round_down_to_tick(price)} or {round_up_to_tick(price)}")
    return price


PastDate = Annotated[IsoDate, AfterValidator(_not_in_future)]
TradingDay = Annotated[IsoDate, AfterValidator(_not_in_future), AfterValidator(_trading_day)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PortfolioIn(_In):
    name: Name
    description: Description | None = None


class PortfolioPatch(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    name: Name | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something(self) -> PortfolioPatch:
        if not self.model_fields_set:
            raise ValueError("give name and/or description")
        return self


class HoldingIn(_In):
    stock_code: StockCode
    quantity: Quantity
    avg_price: Krw = Field(description="average price paid per share, KRW (any positive integer)")
    purchase_date: PastDate = Field(examples=["2025-01-10"])


class HoldingPatch(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["quantity"], "properties": {"quantity": {"not": {"type": "null"}}}},
                {"required": ["avg_price"], "properties": {"avg_price": {"not": {"type": "null"}}}},
            ]
        },
    )
    quantity: Quantity | None = None
    avg_price: Krw | None = None

    @model_validator(mode="after")
    def _something(self) -> HoldingPatch:
        if self.quantity is None and self.avg_price is None:
            raise ValueError("give quantity and/or avg_price")
        return self


class TransactionIn(_In):
    side: Literal["buy", "sell"]
    stock_code: StockCode
    quantity: Quantity
    price: Annotated[Krw, AfterValidator(_on_tick)] = Field(description="KRW per share, on the KRX tick grid")
    trade_date: TradingDay = Field(examples=["2025-01-10"])
    fees: Annotated[int, Field(ge=0, le=10**12), JsonInt] = Field(0, description="commission and tax, KRW")


class PortfolioOut(BaseModel):
    id: uuid.UUID
    name: str = Field(examples=["연금 계좌"])
    description: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PortfolioListItem(PortfolioOut):
    holdings_count: int = Field(examples=[3])
    total_value: int = Field(description="KRW at current prices", examples=[710_000])
    unrealized_gain: int = Field(examples=[30_000])
    unrealized_gain_pct: float | None = Field(examples=[4.41])
    day_change: int = Field(examples=[5_000])


class PortfolioList(BaseModel):
    portfolios: list[PortfolioListItem]
    meta: dict[str, int | None] = Field(examples=[{"count": 1, "limit": 3}])


class HoldingOut(BaseModel):
    id: uuid.UUID = Field(
        description="the holding's id: derived from the portfolio and the stock, so it stays the same for as long "
        "as the portfolio holds the stock"
    )
    stock_code: str = Field(examples=["005930"])
    stock_name: str | None = Field(examples=["삼성전자"])
    sector: str | None = Field(examples=["전기전자"])
    quantity: int = Field(examples=[10])
    avg_price: float = Field(description="cost / quantity, KRW, 2 decimals", examples=[68_000.0])
    current_price: int | None = Field(description="latest price; the last close for a halted or delisted stock")
    price_status: str = Field(description="active, halted, delisted or unpriced", examples=["active"])
    purchase_value: int = Field(examples=[680_000])
    current_value: int = Field(examples=[710_000])
    unrealized_gain: int = Field(examples=[30_000])
    unrealized_gain_pct: float | None = Field(examples=[4.41])
    day_change: int = Field(description="(price - previous close) x quantity", examples=[5_000])
    day_change_pct: float | None = Field(examples=[0.71])
    weight_pct: float | None = Field(description="share of the portfolio's current value", examples=[100.0])
    realized_gain: int = Field(examples=[0])
    fees: int = Field(examples=[0])
    first_trade_date: dt.date


class SectorWeight(BaseModel):
    sector: str | None = Field(examples=["전기전자"])
    value: int = Field(examples=[710_000])
    weight_pct: float = Field(examples=[100.0])


class PortfolioSummary(BaseModel):
    holdings_count: int
    total_purchase_value: int = Field(examples=[680_000])
    total_current_value: int = Field(examples=[710_000])
    total_unrealized_gain: int = Field(examples=[30_000])
    total_unrealized_gain_pct: float | None = Field(examples=[4.41])
    total_realized_gain: int = Field(examples=[0])
    total_fees: int = Field(examples=[0])
    day_change: int = Field(examples=[5_000])
    day_change_pct: float | None = Field(examples=[0.71])
    sector_allocation: list[SectorWeight]


class PortfolioDetail(PortfolioOut):
    holdings: list[HoldingOut]
    summary: PortfolioSummary


class TransactionOut(BaseModel):
    id: uuid.UUID
    side: str = Field(examples=["buy"])
    stock_code: str = Field(examples=["005930"])
    quantity: int = Field(examples=[10])
    price: int = Field(examples=[68_000])
    fees: int = Field(examples=[0])
    trade_date: dt.date
    realized_gain: int | None = Field(description="sells: proceeds - fees - cost at the average price")
    created_at: dt.datetime


class TransactionList(BaseModel):
    transactions: list[TransactionOut]
    meta: PageMeta


class DayValueOut(BaseModel):
    date: dt.date
    value: int = Field(description="holdings at that day's closes, KRW", examples=[710_000])
    buys: int = Field(description="money put in that day: price x quantity + fees of its buys", examples=[0])
    sells: int = Field(description="money taken out: price x quantity - fees of its sells", examples=[0])
    daily_return_pct: float | None = Field(examples=[0.71])
    cumulative_return_pct: float = Field(description="time-weighted, since the first trade", examples=[4.26])


class PerformanceOut(BaseModel):
    portfolio_id: uuid.UUID
    as_of: dt.date
    start_date: dt.date | None
    end_date: dt.date | None
    start_value: int = Field(examples=[681_000])
    end_value: int = Field(examples=[710_000])
    net_contributions: int = Field(description="money put in minus money taken out", examples=[681_000])
    time_weighted_return_pct: float = Field(examples=[4.26])
    max_drawdown_pct: float = Field(description="largest fall of the time-weighted index from a peak", examples=[2.8])
    peak_date: dt.date | None
    trough_date: dt.date | None
    history: list[DayValueOut]
