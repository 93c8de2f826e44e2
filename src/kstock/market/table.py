"""The columnar core of the market snapshot: one numpy column per figure, one row per instrument. The stock list
and the screener run on it.

Built from the database when the market data version changes (``MarketSnapshot.load``), then kept current in
place by :meth:`ScreenTable.apply_ticks` as live prices arrive: the price-dependent figures of the ticked rows are
recomputed with the same function the loader stores them with (``kstock.market.figures.price_dependent``).
Levels computed from completed daily bars (SMAs, RSI, the reference closes of the returns, scores) stay as of the
latest stored bar until the next bar is loaded.

Nulls are NaN in numeric columns and -1 in category ids; flags are 1.0 / 0.0 / NaN so that every filter treats a
missing value the same way (see :mod:`kstock.market.query`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from kstock.kit.numbers import rounded
from kstock.market.fields import BY_NAME, CATEGORY_FIELDS, FIELDS, NUMERIC_FIELDS, Kind, ScreenField
from kstock.market.figures import PRICE_BASE_COLUMNS, PRICE_DEPENDENT_COLUMNS, price_dependent

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]

# Every numeric column the table holds: the screen fields' and the inputs of the live recomputation.
NUMERIC_COLUMNS: Final = tuple(
    dict.fromkeys([*(f.source for f in NUMERIC_FIELDS), *PRICE_BASE_COLUMNS, *PRICE_DEPENDENT_COLUMNS])
)
# Rendered projections kept (one per distinct set of returned fields), each holding the rows rendered so far.
MAX_PROJECTIONS: Final = 16
# The row keys the table is built from, besides the numeric columns.
ROW_KEYS: Final = ("code", "name", "market", "sector", "industry", "status", "trade_date")


@dataclass(frozen=True, slots=True)
class Tick:
    """A live trade from the feed: the last price and, when known, the session's cumulative volume and value."""

    code: str
    price: int
    trade_date: dt.date
    volume: int | None = None
    turnover: int | None = None


@dataclass(frozen=True, slots=True)
class Category:
    """A categorical column: an id per row (-1 for null) into sorted labels."""

    ids: npt.NDArray[np.int32]
    labels: tuple[str, ...]
    lookup: Mapping[str, int]

    @classmethod
    def of(cls, values: Sequence[str | None]) -> Category:
        labels = tuple(sorted({v for v in values if v is not None}))
        lookup = {label: i for i, label in enumerate(labels)}
        ids = np.fromiter((-1 if v is None else lookup[v] for v in values), dtype=np.int32, count=len(values))
        return cls(ids=ids, labels=labels, lookup=lookup)

    def ids_of(self, values: Iterable[str]) -> npt.NDArray[np.int32]:
        """The ids of the labels among ``values`` (unknown labels match nothing)."""
        return np.fromiter((self.lookup[v] for v in values if v in self.lookup), dtype=np.int32)


class ScreenTable:
    """Current figures of every instrument as columns; rows are ordered by code."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        rows = sorted(rows, key=lambda r: r["code"])
        self.codes: tuple[str, ...] = tuple(r["code"] for r in rows)
        self.names: tuple[str, ...] = tuple(r["name"] for r in rows)
        self.index: dict[str, int] = {code: i for i, code in enumerate(self.codes)}
        self.trade_dates: list[dt.date | None] = [r["trade_date"] for r in rows]
        self.columns: dict[str, Floats] = {
            name: np.array([r.get(name) for r in rows], dtype=np.float64) for name in NUMERIC_COLUMNS
        }
        self.categories: dict[str, Category] = {f.name: Category.of([r[f.name] for r in rows]) for f in CATEGORY_FIELDS}
        status = np.array([r["status"] for r in rows], dtype=object)
        self.listed: npt.NDArray[np.bool_] = status != "delisted"
        self._halted: Floats = (status == "halted").astype(np.float64)
        self._orders: dict[tuple[str, bool], Indices] = {}
        self._known: dict[str, npt.NDArray[np.bool_]] = {}
        self._rows: dict[int, dict[str, Any]] = {}
        self._projections: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}
        dates = [d for d in self.trade_dates if d is not None]
        self.as_of: dt.date | None = max(dates) if dates else None
        name_order = sorted(range(len(rows)), key=lambda i: (self.names[i], i))
        self._name_rank: Floats = np.empty(len(rows), dtype=np.float64)
        self._name_rank[name_order] = np.arange(len(rows), dtype=np.float64)
        self._code_rank: Floats = np.arange(len(rows), dtype=np.float64)

    def __len__(self) -> int:
        return len(self.codes)

    def values(self, field: str) -> Floats:
        """A numeric or flag field's column (NaN for null); shared: callers must not write to it."""
        if field == "profitable":
            return _positive(self.columns["eps_ttm"])
        if field == "pays_dividend":
            return _positive(self.columns["dps"])
        if field == "halted":
            return self._halted
        return self.columns[BY_NAME[field].source]

    def row(self, index: int) -> dict[str, Any]:
        """Every field of one row as JSON values: ints for KRW amounts and share counts, None for null (cached
        until the row changes; shared: callers must not mutate it)."""
        cached = self._rows.get(index)
        if cached is None:
            cached = self._rows[index] = {field.name: self._value(field, index) for field in FIELDS}
        return cached

    def project(self, rows: Sequence[int], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        """``keys`` of each row as JSON values (see :meth:`row`); cached per set of keys until the row changes."""
        cache = self._projections.get(keys)
        if cache is None:
            if len(self._projections) >= MAX_PROJECTIONS:
                self._projections.clear()
            cache = self._projections[keys] = {}
        result = []
        for index in rows:
            projected = cache.get(index)
            if projected is None:
                row = self.row(index)
                projected = cache[index] = {key: row[key] for key in keys}
            result.append(projected)
        return result

    def _value(self, field: ScreenField, index: int) -> Any:
        if field.kind is Kind.TEXT:
            return self.names[index]
        if field.kind is Kind.CATEGORY:
            category = self.categories[field.name]
            label_id = int(category.ids[index])
            return category.labels[label_id] if label_id >= 0 else None
        value = float(self.values(field.name)[index])
        if math.isnan(value):
            return None
        if field.kind is Kind.INTEGER:
            return int(value)
        if field.kind is Kind.FLAG:
            return value == 1.0
        if field.decimals is not None:
            return rounded(value, field.decimals)
        return value

    def known(self, field: str) -> npt.NDArray[np.bool_]:
        """Where a field has a value (cached until the figures change)."""
        cached = self._known.get(field)
        if cached is None:
            if field in self.categories:
                cached = self.categories[field].ids >= 0
            else:
                cached = ~np.isnan(self.values(field))
            self._known[field] = cached
        return cached

    def order(self, field: str, descending: bool) -> Indices:
        """Every row sorted by ``field``: nulls last, ties by code ascending in both directions (cached)."""
        key = (field, descending)
        cached = self._orders.get(key)
        if cached is not None:
            return cached
        values = self.sort_key(field)
        # A stable sort keeps rows (code order) within ties; negating sorts descending with NaN still last.
        order = np.argsort(-values if descending else values, kind="stable")
        self._orders[key] = order
        return order

    def sort_key(self, field: str) -> Floats:
        """What ``field`` sorts by: its values, or the rank of the row's code or name."""
        if field == "code":
            return self._code_rank
        return self._name_rank if field == "name" else self.values(field)

    def apply_ticks(self, ticks: Iterable[Tick]) -> list[str]:
        """Apply live prices in place; returns the codes whose figures changed.

        A tick of the stored bar's session replaces its close; a tick of a later session starts a new one (the
        stored close becomes the previous close). Older ticks, unknown codes and non-positive prices are ignored.
        """
        columns = self.columns
        close, prev_close = columns["close_price"], columns["prev_close"]
        touched: dict[int, None] = {}
        for tick in ticks:
            row = self.index.get(tick.code)
            if row is None or tick.price <= 0:
                continue
            last = self.trade_dates[row]
            if last is not None and tick.trade_date < last:
                continue
            if last is None or tick.trade_date > last:
                if not math.isnan(close[row]):
                    prev_close[row] = close[row]
                self.trade_dates[row] = tick.trade_date
                columns["volume"][row] = 0.0
                columns["turnover"][row] = 0.0
            close[row] = tick.price
            if tick.volume is not None:
                columns["volume"][row] = tick.volume
            if tick.turnover is not None:
                columns["turnover"][row] = tick.turnover
            columns["high_52w"][row] = np.fmax(columns["high_52w"][row], tick.price)
            columns["low_52w"][row] = np.fmin(columns["low_52w"][row], tick.price)
            touched[row] = None
        if not touched:
            return []
        rows = np.fromiter(touched, dtype=np.intp, count=len(touched))
        recomputed = price_dependent({name: columns[name][rows] for name in PRICE_BASE_COLUMNS}, close[rows])
        for name, values in recomputed.items():
            columns[name][rows] = values
        self._orders.clear()
        self._known.clear()
        for row in touched:
            self._rows.pop(row, None)
            for cache in self._projections.values():
                cache.pop(row, None)
        latest = max(self.trade_dates[row] or dt.date.min for row in touched)
        self.as_of = latest if self.as_of is None else max(self.as_of, latest)
        return [self.codes[row] for row in touched]


def _positive(values: Floats) -> Floats:
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), np.nan, (values > 0).astype(np.float64))
