"""Market-data tables. Every KRW amount is an integer column."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from kstock.db.base import Base


class Instrument(Base):
    """A listed (or formerly listed) stock."""

    __tablename__ = "instruments"
    __table_args__ = (
        CheckConstraint("market IN ('KOSPI', 'KOSDAQ', 'KONEX')", name="market"),
        CheckConstraint("status IN ('active', 'halted', 'delisted')", name="status"),
        Index("ix_instruments_market_sector", "market", "sector"),
        Index("ix_instruments_sector", "sector"),
    )

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    isin: Mapped[str | None] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    market: Mapped[str] = mapped_column(String(10))
    # KOSDAQ/KONEX department (소속부) or "KOSDAQ GLOBAL"; empty for KOSPI.
    segment: Mapped[str | None] = mapped_column(String(50))
    sector: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(200))
    listing_date: Mapped[dt.date | None] = mapped_column(Date)
    delisting_date: Mapped[dt.date | None] = mapped_column(Date)
    shares_outstanding: Mapped[int | None] = mapped_column(BigInteger)
    settle_month: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class DailyBar(Base):
    """One stock's trading day: KRW prices on the tick grid and share volume."""

    __tablename__ = "daily_bars"
    __table_args__ = (
        CheckConstraint("low <= open AND low <= close AND open <= high AND close <= high", name="ohlc"),
        CheckConstraint("volume >= 0", name="volume"),
        Index("ix_daily_bars_trade_date", "trade_date"),
        {"sqlite_with_rowid": False},
    )

    code: Mapped[str] = mapped_column(String(6), ForeignKey("instruments.code", ondelete="CASCADE"), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger)
    high: Mapped[int] = mapped_column(BigInteger)
    low: Mapped[int] = mapped_column(BigInteger)
    close: Mapped[int] = mapped_column(BigInteger)
    volume: Mapped[int] = mapped_column(BigInteger)
    trade_value: Mapped[int | None] = mapped_column(BigInteger)


class MinuteBar(Base):
    """One stock's minute of the session, as the feed aggregated it (the last few days are kept)."""

    __tablename__ = "minute_bars"
    __table_args__ = (
        CheckConstraint("low <= open AND low <= close AND open <= high AND close <= high", name="ohlc"),
        Index("ix_minute_bars_start", "start"),
        {"sqlite_with_rowid": False},
    )

    code: Mapped[str] = mapped_column(String(6), ForeignKey("instruments.code", ondelete="CASCADE"), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger)
    high: Mapped[int] = mapped_column(BigInteger)
    low: Mapped[int] = mapped_column(BigInteger)
    close: Mapped[int] = mapped_column(BigInteger)
    volume: Mapped[int] = mapped_column(BigInteger)
    turnover: Mapped[int] = mapped_column(BigInteger)


class FinancialStatement(Base):
    """A quarterly or annual statement. ``fiscal_quarter`` is 0 for a full year (shown as null)."""

    __tablename__ = "financial_statements"
    __table_args__ = (
        UniqueConstraint("code", "period_type", "fiscal_year", "fiscal_quarter", name="uq_financial_period"),
        CheckConstraint("period_type IN ('quarterly', 'annual')", name="period_type"),
        CheckConstraint("fiscal_quarter BETWEEN 0 AND 4", name="fiscal_quarter"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(6), ForeignKey("instruments.code", ondelete="CASCADE"))
    period_type: Mapped[str] = mapped_column(String(10))
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    fiscal_quarter: Mapped[int] = mapped_column(SmallInteger)
    report_date: Mapped[dt.date] = mapped_column(Date)
    revenue: Mapped[int | None] = mapped_column(BigInteger)
    operating_profit: Mapped[int | None] = mapped_column(BigInteger)
    net_profit: Mapped[int | None] = mapped_column(BigInteger)
    total_assets: Mapped[int | None] = mapped_column(BigInteger)
    total_liabilities: Mapped[int | None] = mapped_column(BigInteger)
    total_equity: Mapped[int | None] = mapped_column(BigInteger)
    eps: Mapped[int | None] = mapped_column(BigInteger)
    bps: Mapped[int | None] = mapped_column(BigInteger)
    dps: Mapped[int | None] = mapped_column(BigInteger)


class StockIndicator(Base):
    """Derived figures per stock as of its latest bar; recomputed after every load of bars or financials."""

    __tablename__ = "stock_indicators"

    code: Mapped[str] = mapped_column(String(6), ForeignKey("instruments.code", ondelete="CASCADE"), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date)
    close_price: Mapped[int] = mapped_column(BigInteger)
    prev_close: Mapped[int | None] = mapped_column(BigInteger)
    change_pct: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(BigInteger)
    market_cap: Mapped[int | None] = mapped_column(BigInteger)
    high_52w: Mapped[int | None] = mapped_column(BigInteger)
    low_52w: Mapped[int | None] = mapped_column(BigInteger)
    eps_ttm: Mapped[int | None] = mapped_column(BigInteger)
    bps: Mapped[int | None] = mapped_column(BigInteger)
    dps: Mapped[int | None] = mapped_column(BigInteger)
    per: Mapped[float | None] = mapped_column(Float)
    pbr: Mapped[float | None] = mapped_column(Float)
    roe: Mapped[float | None] = mapped_column(Float)
    dividend_yield: Mapped[float | None] = mapped_column(Float)
    quality_score: Mapped[float | None] = mapped_column(Float)
    value_score: Mapped[float | None] = mapped_column(Float)
    growth_score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Screening figures (definitions in docs/api/market-data.md); KRW and share amounts are integers.
    turnover: Mapped[int | None] = mapped_column(BigInteger)
    avg_volume_20d: Mapped[int | None] = mapped_column(BigInteger)
    revenue_ttm: Mapped[int | None] = mapped_column(BigInteger)
    close_1m_ago: Mapped[int | None] = mapped_column(BigInteger)
    close_3m_ago: Mapped[int | None] = mapped_column(BigInteger)
    close_1y_ago: Mapped[int | None] = mapped_column(BigInteger)
    psr: Mapped[float | None] = mapped_column(Float)
    roa: Mapped[float | None] = mapped_column(Float)
    operating_margin: Mapped[float | None] = mapped_column(Float)
    net_margin: Mapped[float | None] = mapped_column(Float)
    debt_ratio: Mapped[float | None] = mapped_column(Float)
    revenue_growth_yoy: Mapped[float | None] = mapped_column(Float)
    eps_growth_yoy: Mapped[float | None] = mapped_column(Float)
    revenue_growth_3y: Mapped[float | None] = mapped_column(Float)
    eps_growth_3y: Mapped[float | None] = mapped_column(Float)
    sma_20: Mapped[float | None] = mapped_column(Float)
    sma_60: Mapped[float | None] = mapped_column(Float)
    sma_120: Mapped[float | None] = mapped_column(Float)
    rsi_14: Mapped[float | None] = mapped_column(Float)
    return_1m: Mapped[float | None] = mapped_column(Float)
    return_3m: Mapped[float | None] = mapped_column(Float)
    return_1y: Mapped[float | None] = mapped_column(Float)
    pct_from_52w_high: Mapped[float | None] = mapped_column(Float)
    pct_from_52w_low: Mapped[float | None] = mapped_column(Float)
    price_vs_sma_20: Mapped[float | None] = mapped_column(Float)
    price_vs_sma_60: Mapped[float | None] = mapped_column(Float)
    price_vs_sma_120: Mapped[float | None] = mapped_column(Float)


class DataVersion(Base):
    """A counter per data set, bumped by every writer; API instances poll it to refresh their in-memory views."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
