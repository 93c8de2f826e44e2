"""The screen fields: every figure a screen can filter, sort and return, with its type, unit and meaning.

This catalog is the one description of the fields: ``GET /v1/screen/fields`` serves it, the query compiler checks
names and operators against it, and the engine renders values by its types. Numeric figures are computed by the
market-data loader (``kstock.market.indicators``) and stored in ``stock_indicators``; ``column`` names the stored
column when it differs from the field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Kind(StrEnum):
    INTEGER = "integer"  # KRW amounts and share counts: exact integers
    NUMBER = "number"
    CATEGORY = "string"  # market, sector, industry, code: matched with in / not_in / == / !=
    FLAG = "boolean"
    TEXT = "text"  # the name: returned and sortable, not filterable


NUMERIC_KINDS: Final = frozenset({Kind.INTEGER, Kind.NUMBER})
NUMERIC_OPS: Final = ("<", "<=", ">", ">=", "==", "!=", "between", "in", "not_in")
CATEGORY_OPS: Final = ("==", "!=", "in", "not_in")
FLAG_OPS: Final = ("==", "!=")


@dataclass(frozen=True, slots=True)
class ScreenField:
    name: str
    kind: Kind
    group: str
    description: str
    unit: str | None = None
    column: str | None = None  # the stock_indicators column, when it is not ``name``
    # Decimals a response shows, for a figure kept unrounded (conditions and sorting use the exact value).
    decimals: int | None = None

    @property
    def source(self) -> str:
        return self.column or self.name

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def sortable(self) -> bool:
        return self.numeric or self.name in ("code", "name")

    @property
    def operators(self) -> tuple[str, ...]:
        if self.numeric:
            return NUMERIC_OPS
        if self.kind is Kind.CATEGORY:
            return CATEGORY_OPS
        if self.kind is Kind.FLAG:
            return FLAG_OPS
        return ()


def _f(
    name: str,
    kind: Kind,
    group: str,
    unit: str | None,
    description: str,
    column: str | None = None,
    decimals: int | None = None,
) -> ScreenField:
    return ScreenField(
        name=name, kind=kind, group=group, description=description, unit=unit, column=column, decimals=decimals
    )


INT, NUM, CAT, FLAG, TEXT = Kind.INTEGER, Kind.NUMBER, Kind.CATEGORY, Kind.FLAG, Kind.TEXT

FIELDS: Final[tuple[ScreenField, ...]] = (
    _f("code", CAT, "identity", None, "KRX short code"),
    _f("name", TEXT, "identity", None, "Korean name"),
    _f("market", CAT, "classification", None, "KOSPI, KOSDAQ or KONEX"),
    _f("sector", CAT, "classification", None, "KRX sector (업종)"),
    _f("industry", CAT, "classification", None, "industry (from the KRX listing)"),
    _f("close_price", INT, "price", "KRW", "latest close, or the last traded price during the session"),
    _f("change_pct", NUM, "price", "%", "change against the previous close"),
    _f("volume", INT, "price", "shares", "shares traded in the latest session"),
    _f("turnover", INT, "price", "KRW", "value traded in the latest session (close x volume when not reported)"),
    _f("avg_volume_20d", INT, "price", "shares", "mean daily volume over the last 20 sessions"),
    _f("market_cap", INT, "price", "KRW", "close x shares outstanding"),
    _f("shares_outstanding", INT, "price", "shares", "listed shares"),
    _f("per", NUM, "valuation", "x", "close / trailing-twelve-month EPS; null for loss-makers"),
    _f("pbr", NUM, "valuation", "x", "close / book value per share; null when book value <= 0"),
    _f("psr", NUM, "valuation", "x", "market cap / trailing-twelve-month revenue"),
    _f("eps", INT, "valuation", "KRW", "trailing-twelve-month earnings per share", column="eps_ttm"),
    _f("bps", INT, "valuation", "KRW", "book value per share, latest statement"),
    _f("dps", INT, "valuation", "KRW", "dividend per share, latest annual statement"),
    _f("dividend_yield", NUM, "valuation", "%", "latest annual DPS / close"),
    _f("roe", NUM, "profitability", "%", "trailing-twelve-month net profit / latest equity"),
    _f("roa", NUM, "profitability", "%", "trailing-twelve-month net profit / latest total assets"),
    _f("operating_margin", NUM, "profitability", "%", "trailing-twelve-month operating profit / revenue"),
    _f("net_margin", NUM, "profitability", "%", "trailing-twelve-month net profit / revenue"),
    _f("debt_ratio", NUM, "profitability", "%", "total liabilities / total equity (부채비율)"),
    _f("revenue_growth_yoy", NUM, "growth", "%", "trailing-twelve-month revenue against the year before"),
    _f("eps_growth_yoy", NUM, "growth", "%", "trailing-twelve-month EPS against the year before (over |base|)"),
    _f("revenue_growth_3y", NUM, "growth", "%", "annual revenue growth over 3 fiscal years, compounded (CAGR)"),
    _f("eps_growth_3y", NUM, "growth", "%", "annual EPS growth over 3 fiscal years, compounded (CAGR)"),
    _f("return_1m", NUM, "momentum", "%", "price return over the last 21 sessions"),
    _f("return_3m", NUM, "momentum", "%", "price return over the last 63 sessions"),
    _f("return_1y", NUM, "momentum", "%", "price return over the last 252 sessions"),
    _f("high_52w", INT, "momentum", "KRW", "highest high of the last 52 weeks"),
    _f("low_52w", INT, "momentum", "KRW", "lowest low of the last 52 weeks"),
    _f("pct_from_52w_high", NUM, "momentum", "%", "close against the 52-week high (0 at the high, negative below)"),
    _f("pct_from_52w_low", NUM, "momentum", "%", "close against the 52-week low (0 at the low, positive above)"),
    _f("rsi_14", NUM, "technical", "0-100", "Wilder's 14-session relative strength index"),
    _f("sma_20", NUM, "technical", "KRW", "simple moving average of the last 20 closes", decimals=2),
    _f("sma_60", NUM, "technical", "KRW", "simple moving average of the last 60 closes", decimals=2),
    _f("sma_120", NUM, "technical", "KRW", "simple moving average of the last 120 closes", decimals=2),
    _f("price_vs_sma_20", NUM, "technical", "%", "close against its 20-session SMA"),
    _f("price_vs_sma_60", NUM, "technical", "%", "close against its 60-session SMA"),
    _f("price_vs_sma_120", NUM, "technical", "%", "close against its 120-session SMA"),
    _f(
        "quality_score", NUM, "score", "0-100", "profitability and its stability, percentile-based (docs/api/scores.md)"
    ),
    _f("value_score", NUM, "score", "0-100", "cheapness: PER, PBR, dividend yield, percentile-based"),
    _f("growth_score", NUM, "score", "0-100", "revenue and EPS growth over 1 and 3 years, percentile-based"),
    _f("profitable", FLAG, "flag", None, "trailing-twelve-month EPS > 0"),
    _f("pays_dividend", FLAG, "flag", None, "latest annual DPS > 0"),
    _f("halted", FLAG, "flag", None, "trading is halted"),
)

BY_NAME: Final[Mapping[str, ScreenField]] = MappingProxyType({f.name: f for f in FIELDS})
NUMERIC_FIELDS: Final = tuple(f for f in FIELDS if f.numeric)
CATEGORY_FIELDS: Final = tuple(f for f in FIELDS if f.kind is Kind.CATEGORY)
FLAG_FIELDS: Final = tuple(f for f in FIELDS if f.kind is Kind.FLAG)
SORTABLE: Final = tuple(f.name for f in FIELDS if f.sortable)

# Returned when a screen names no fields: the spec's columns, then whatever the screen filters or sorts on.
DEFAULT_FIELDS: Final = (
    "market",
    "sector",
    "close_price",
    "change_pct",
    "market_cap",
    "per",
    "pbr",
    "roe",
    "dividend_yield",
    "quality_score",
    "value_score",
    "growth_score",
)
