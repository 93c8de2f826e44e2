"""The three KRX listing file layouts (desc, marcap, delisting): how each is recognised and how a row is read.

Every parser turns one CSV row into the ``instruments`` columns its format carries, or raises :class:`RowError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kstock.kit.krx import is_valid_code
from kstock.market.importers.common import FatalImportError, RowError, parse_date
from kstock.market.importers.industry_map import sector_for_industry

DESC: Final = "KRX desc"
MARCAP: Final = "KRX marcap"
DELISTING: Final = "KRX delisting"

_MARKETS: Final[dict[str, tuple[str, str | None]]] = {
    "KOSPI": ("KOSPI", None),
    "KOSDAQ": ("KOSDAQ", None),
    "KOSDAQ GLOBAL": ("KOSDAQ", "KOSDAQ GLOBAL"),
    "KONEX": ("KONEX", None),
}
# Security groups of the delisting file that are shares (REITs and listed funds trade as stocks).
_STOCK_GROUPS: Final = frozenset({"주권", "외국주권", "주식예탁증권", "부동산투자회사", "투자회사", "선박투자회사"})
_ISIN: Final = re.compile(r"^[A-Z]{2}[0-9A-Z]{9}[0-9]$")
_SETTLE_MONTH: Final = re.compile(r"^(\d{1,2})월?$")

Row = dict[str, Any]
Getter = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class ListingFormat:
    """One layout: the header names that identify it, the columns it writes and its row parser."""

    kind: str
    required: tuple[str, ...]
    columns: tuple[str, ...]
    update: tuple[str, ...] | None  # columns rewritten on a known code; None: all of ``columns``
    parse: Callable[[Getter], Row]


def _code(value: str) -> str:
    if not is_valid_code(value):
        raise RowError("bad code", f"{value!r} (codes are 6 characters [0-9A-Z], text)")
    return value


def _text(value: str, column: str, max_length: int) -> str | None:
    """Stripped text or None; longer than the column allows is a reject (PostgreSQL would fail the batch)."""
    value = value.strip()
    if len(value) > max_length:
        raise RowError("value too long", f"{column} has {len(value)} characters, at most {max_length}")
    return value or None


def _name(get: Getter) -> str:
    name = _text(get("name"), "name", 200)
    if name is None:
        raise RowError("missing name")
    return name


def _market(value: str) -> tuple[str, str | None]:
    try:
        return _MARKETS[value.strip().upper()]
    except KeyError:
        raise RowError("unknown market", repr(value)) from None


def _optional_date(value: str) -> dt.date | None:
    return parse_date(value.strip()) if value.strip() else None


def _settle_month(value: str) -> int | None:
    if not value.strip():
        return None
    match = _SETTLE_MONTH.match(value.strip())
    if match is None or not 1 <= int(match.group(1)) <= 12:
        raise RowError("bad settle month", repr(value))
    return int(match.group(1))


def _shares(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        shares = int(value)
    except ValueError:
        raise RowError("non-integer shares", repr(value)) from None
    if shares < 0:
        raise RowError("negative shares", repr(value))
    return shares


def _parse_desc(get: Getter) -> Row:
    code = _code(get("code"))
    market, global_segment = _market(get("market"))
    industry = _text(get("industry"), "industry", 200)
    return {
        "code": code,
        "name": _name(get),
        "market": market,
        "segment": global_segment or _text(get("sector"), "segment", 50),
        "sector": sector_for_industry(industry),
        "industry": industry,
        "listing_date": _optional_date(get("listingdate")),
        "settle_month": _settle_month(get("settlemonth")),
    }


def _parse_marcap(get: Getter) -> Row:
    code = _code(get("code"))
    market, global_segment = _market(get("market"))
    isin = get("isu_cd").strip() or None
    if isin is not None and not _ISIN.match(isin):
        raise RowError("bad ISIN", repr(isin))
    return {
        "code": code,
        "isin": isin,
        "name": _name(get),
        "market": market,
        "segment": global_segment or _text(get("dept"), "segment", 50),
        "shares_outstanding": _shares(get("stocks")),
    }


def _parse_delisting(get: Getter) -> Row:
    group = get("secugroup").strip()
    if group and group not in _STOCK_GROUPS:
        raise RowError("not a stock", group)
    code = _code(get("symbol"))
    market, _ = _market(get("market"))
    delisting_date = _optional_date(get("delistingdate"))
    if delisting_date is None:
        raise RowError("missing delisting date")
    return {
        "code": code,
        "name": _name(get),
        "market": market,
        "listing_date": _optional_date(get("listingdate")),
        "delisting_date": delisting_date,
        "status": "delisted",
    }


_STATUS: Final = ("status", "delisting_date")
LISTING_FORMATS: Final = (
    ListingFormat(
        DELISTING,
        ("symbol", "name", "market", "delistingdate"),
        ("code", "name", "market", "listing_date", "delisting_date", "status"),
        _STATUS,
        _parse_delisting,
    ),
    ListingFormat(
        MARCAP,
        ("code", "isu_cd", "name", "market", "stocks"),
        ("code", "isin", "name", "market", "segment", "shares_outstanding", *_STATUS),
        None,
        _parse_marcap,
    ),
    ListingFormat(
        DESC,
        ("code", "name", "market", "industry", "listingdate"),
        ("code", "name", "market", "segment", "sector", "industry", "listing_date", "settle_month", *_STATUS),
        None,
        _parse_desc,
    ),
)


def detect_format(header: Sequence[str]) -> ListingFormat:
    """The layout whose required columns the header has; :class:`FatalImportError` when none fits."""
    names = {name.strip().lower() for name in header}
    for candidate in LISTING_FORMATS:
        if names.issuperset(candidate.required):
            return candidate
    raise FatalImportError(f"not a KRX listing file (desc, marcap or delisting): header {list(header)}")
