"""The in-memory market snapshot: every instrument with its latest figures, the read model of the stock list,
the stock detail and the screener.

Each API instance loads it at start and reloads it when the market data version (bumped by every loader in its
own transaction) changes; a background task polls that version every ``snapshot_refresh_s`` seconds. Readers
see one consistent snapshot: a reload builds a new state (the columnar table and the details rendered from it)
and swaps it in with a single assignment. Between reloads, live prices update it in place (:meth:`apply_ticks`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.errors import ServiceUnavailableError
from kstock.market import repository
from kstock.market.fields import BY_NAME, NUMERIC_FIELDS
from kstock.market.query import Leaf, combine, matches
from kstock.market.table import ScreenTable, Tick
from kstock.market.versions import MARKET_DATA, current_version

log = structlog.get_logger("kstock.market.snapshot")

_SUMMARY_KEYS = ("code", "name", "market", "sector", "industry", "latest_price")
_STATIC_KEYS = ("name_en", "isin", "segment", "listing_date", "shares_outstanding", "status")
_LATEST_PRICE_FIELDS = ("close_price", "change_pct", "volume", "turnover", "market_cap")
# Every numeric screen figure that is not part of latest_price: the detail's ``indicators``.
INDICATOR_FIELDS = tuple(
    f.name for f in NUMERIC_FIELDS if f.name not in _LATEST_PRICE_FIELDS and f.name != "shares_outstanding"
)


def _details(table: ScreenTable, static: dict[str, dict[str, Any]], codes: Sequence[str]) -> list[dict[str, Any]]:
    """The API's stock detail of each of ``codes``, from the table's current figures."""
    details = []
    for code in codes:
        index = table.index[code]
        row = table.row(index)
        priced = row["close_price"] is not None
        latest_price = {name: row[name] for name in _LATEST_PRICE_FIELDS}
        latest_price["trade_date"] = table.trade_dates[index]
        details.append(
            {
                "code": code,
                "name": row["name"],
                "market": row["market"],
                "sector": row["sector"],
                "industry": row["industry"],
                "latest_price": latest_price if priced else None,
                **static[code],
                "indicators": {name: row[name] for name in INDICATOR_FIELDS} if priced else None,
            }
        )
    return details


@dataclass(frozen=True)
class _State:
    version: int
    table: ScreenTable
    static: dict[str, dict[str, Any]]
    details: dict[str, dict[str, Any]]
    summaries: dict[str, dict[str, Any]]


class MarketSnapshot:
    """Current figures of every instrument, refreshed when the market data version changes."""

    def __init__(self) -> None:
        self._state: _State | None = None
        self._listeners: list[Callable[[], None]] = []
        self.revision = 0  # moves on every reload and every batch of live prices: what a rendering depends on

    @property
    def loaded(self) -> bool:
        return self._state is not None

    @property
    def version(self) -> int | None:
        return self._state.version if self._state else None

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reload (e.g. to clear response caches built on the stored bars, which live
        prices do not change; what depends on live prices keys on :attr:`revision`)."""
        self._listeners.append(listener)

    async def load(self, engine: AsyncEngine) -> None:
        """Read every instrument and its indicators (a few thousand rows: tens of milliseconds)."""
        async with engine.connect() as connection:
            version = await current_version(connection, MARKET_DATA)
            rows = await repository.all_stocks(connection)
        table = ScreenTable([dict(row._mapping) for row in rows])
        static = {row.code: {key: getattr(row, key) for key in _STATIC_KEYS} for row in rows}
        details = dict(zip(table.codes, _details(table, static, table.codes), strict=True))
        summaries = {code: {key: detail[key] for key in _SUMMARY_KEYS} for code, detail in details.items()}
        self._state = _State(version=version, table=table, static=static, details=details, summaries=summaries)
        self.revision += 1
        for listener in self._listeners:
            listener()
        # The snapshot lives until the next reload: move it (and everything else alive now) out of the cyclic
        # collector's reach, so full collections stop rescanning ~100k long-lived objects under load.
        gc.collect()
        gc.freeze()
        log.info("market_snapshot_loaded", version=version, stocks=len(details))

    async def refresh_if_changed(self, engine: AsyncEngine) -> bool:
        """Reload when the stored version differs from the loaded one; True when it reloaded."""
        async with engine.connect() as connection:
            version = await current_version(connection, MARKET_DATA)
        if self._state is not None and self._state.version == version:
            return False
        await self.load(engine)
        return True

    async def run_refresh_loop(self, engine: AsyncEngine, interval_s: float) -> None:
        """Poll the version forever; errors (a database blip) are logged and retried at the next tick."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh_if_changed(engine)
            except Exception as exc:  # keep serving the last good snapshot
                log.warning("market_snapshot_refresh_failed", error=str(exc))

    def _require(self) -> _State:
        if self._state is None:
            raise ServiceUnavailableError("Market data is not loaded yet", {"market_snapshot": "not loaded"})
        return self._state

    def get(self, code: str) -> dict[str, Any] | None:
        """One stock's detail (shared: callers must not mutate it)."""
        return self._require().details.get(code)

    def members(self, field: str, value: str) -> list[str]:
        """Codes of the listed stocks whose ``field`` ("market" or "sector") is ``value``, in code order."""
        return [code for code, summary in self._require().summaries.items() if summary[field] == value]

    def values_of(self, field: str) -> list[str]:
        """The distinct values of ``field`` ("market", "sector") across the listing, sorted."""
        return sorted({summary[field] for summary in self._require().summaries.values() if summary[field]})

    def require_loaded(self) -> None:
        """503 until the market data is loaded."""
        self._require()

    def previous_close(self, code: str) -> int | None:
        """A stock's previous close (the reference of its day change); None for an unknown code or none on file."""
        table = self._require().table
        row = table.index.get(code)
        if row is None:
            return None
        previous = table.columns["prev_close"][row]
        return None if previous != previous else int(previous)  # NaN: no previous close

    @property
    def as_of(self) -> dt.date | None:
        """The latest trading day of the market data (None for an empty market)."""
        return self._require().table.as_of

    def category_labels(self, field: str) -> list[str]:
        """The values a category field ("market", "sector", "industry") takes in the table, in its id order."""
        return list(self._require().table.categories[field].labels)

    @property
    def table(self) -> ScreenTable:
        """The columnar view the screener runs on (shared: read-only for callers)."""
        return self._require().table

    def page(
        self, *, market: str | None, sector: str | None, sort_by: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of stock summaries, filtered and sorted (nulls last, ties by code), and the total."""
        state = self._require()
        table = state.table
        order = table.order(sort_by, descending)
        condition = combine(
            [
                Leaf(BY_NAME[name], "==", value)
                for name, value in (("market", market), ("sector", sector))
                if value is not None
            ]
        )
        matching = order if condition is None else order[matches(condition, table)[order]]
        codes = table.codes
        return [state.summaries[codes[row]] for row in matching[offset : offset + limit].tolist()], int(matching.size)

    def apply_ticks(self, ticks: Iterable[Tick]) -> list[str]:
        """Apply live prices to the table and the stocks' details; returns the codes that changed."""
        state = self._require()
        codes = state.table.apply_ticks(ticks)
        for detail in _details(state.table, state.static, codes):
            state.details[detail["code"]] = detail
            state.summaries[detail["code"]] = {key: detail[key] for key in _SUMMARY_KEYS}
        if codes:
            self.revision += 1
        return codes
