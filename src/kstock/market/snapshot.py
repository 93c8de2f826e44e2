"""The in-memory market snapshot: every instrument with its latest figures, the read model of the stock list
and detail endpoints.

Each API instance loads it at start and reloads it when the market data version (bumped by every loader in its
own transaction) changes; a background task polls that version every ``snapshot_refresh_s`` seconds. Readers
see one consistent snapshot: a reload builds new dictionaries and swaps them in with a single assignment.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.db.base import AnyRow
from kstock.errors import ServiceUnavailableError
from kstock.market import repository
from kstock.market.versions import MARKET_DATA, current_version

log = structlog.get_logger("kstock.market.snapshot")

_SUMMARY_KEYS = ("code", "name", "market", "sector", "industry", "latest_price")
_SORT_VALUES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "code": lambda s: s["code"],
    "name": lambda s: s["name"],
    "market_cap": lambda s: (s["latest_price"] or {}).get("market_cap"),
    "close_price": lambda s: (s["latest_price"] or {}).get("close_price"),
    "change_pct": lambda s: (s["latest_price"] or {}).get("change_pct"),
    "volume": lambda s: (s["latest_price"] or {}).get("volume"),
}


def _latest_price(row: AnyRow) -> dict[str, Any] | None:
    if row.close_price is None:
        return None
    return {
        "close_price": row.close_price,
        "change_pct": row.change_pct,
        "volume": row.volume,
        "market_cap": row.market_cap,
        "trade_date": row.trade_date,
    }


def detail_dict(row: AnyRow) -> dict[str, Any]:
    """The API's stock detail from an instrument row joined with its indicators."""
    return {
        "code": row.code,
        "name": row.name,
        "market": row.market,
        "sector": row.sector,
        "industry": row.industry,
        "latest_price": _latest_price(row),
        "name_en": row.name_en,
        "isin": row.isin,
        "segment": row.segment,
        "listing_date": row.listing_date,
        "shares_outstanding": row.shares_outstanding,
        "status": row.status,
        "indicators": None
        if row.close_price is None
        else {
            "per": row.per,
            "pbr": row.pbr,
            "roe": row.roe,
            "dividend_yield": row.dividend_yield,
            "eps": row.eps_ttm,
            "bps": row.bps,
            "dps": row.dps,
            "high_52w": row.high_52w,
            "low_52w": row.low_52w,
            "quality_score": row.quality_score,
            "value_score": row.value_score,
            "growth_score": row.growth_score,
        },
    }


@dataclass(frozen=True)
class _State:
    version: int
    details: dict[str, dict[str, Any]]
    summaries: dict[str, dict[str, Any]]
    orders: dict[tuple[str, bool], list[str]] = field(default_factory=dict)


class MarketSnapshot:
    """Current figures of every instrument, refreshed when the market data version changes."""

    def __init__(self) -> None:
        self._state: _State | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def loaded(self) -> bool:
        return self._state is not None

    @property
    def version(self) -> int | None:
        return self._state.version if self._state else None

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reload (e.g. to clear response caches built on the old data)."""
        self._listeners.append(listener)

    async def load(self, engine: AsyncEngine) -> None:
        """Read every instrument and its indicators (a few thousand rows: tens of milliseconds)."""
        async with engine.connect() as connection:
            version = await current_version(connection, MARKET_DATA)
            rows = await repository.all_stocks(connection)
        details = {row.code: detail_dict(row) for row in rows}
        summaries = {code: {key: detail[key] for key in _SUMMARY_KEYS} for code, detail in details.items()}
        self._state = _State(version=version, details=details, summaries=summaries)
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

    def page(
        self, *, market: str | None, sector: str | None, sort_by: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of stock summaries, filtered and sorted (nulls last, ties by code), and the total."""
        state = self._require()
        order = state.orders.get((sort_by, descending))
        if order is None:
            order = _sorted_codes(state.summaries, sort_by, descending)
            state.orders[(sort_by, descending)] = order
        if market is None and sector is None:
            matching = order
        else:
            matching = [
                code
                for code in order
                if (market is None or state.summaries[code]["market"] == market)
                and (sector is None or state.summaries[code]["sector"] == sector)
            ]
        return [state.summaries[code] for code in matching[offset : offset + limit]], len(matching)


def _sorted_codes(summaries: dict[str, dict[str, Any]], sort_by: str, descending: bool) -> list[str]:
    value_of = _SORT_VALUES[sort_by]
    by_code = sorted(summaries)
    present = [code for code in by_code if value_of(summaries[code]) is not None]
    missing = [code for code in by_code if value_of(summaries[code]) is None]
    # Sorting is stable in both directions (reverse=True too), so equal values keep ascending code order.
    present.sort(key=lambda code: value_of(summaries[code]), reverse=descending)
    return present + missing
