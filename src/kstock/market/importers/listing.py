"""Import KRX listing files into ``instruments``; the format is told by the header.

- ``krx_desc_*`` (Code, Name, Market, Sector, Industry, ListingDate, SettleMonth, ...): name, market, segment
  (the file's "Sector" is really the KOSDAQ/KONEX department), industry, kstock sector, listing date, settlement
  month. A preferred share without an industry takes its common share's (``005935`` from ``005930``).
- ``krx_quotes_marcap_*`` (Code, ISU_CD, Name, Market, Dept, Stocks, ...): ISIN, shares outstanding, name,
  market, segment.
- ``krx_delisting_*`` (Symbol, Name, Market, SecuGroup, ListingDate, DelistingDate, ...): stocks only (rights,
  warrants and funds are rejected as "not a stock"); a new code is added as delisted, a known code is marked
  delisted unless the code was reused by a later listing.

Each format writes only the columns it carries, so desc and marcap can be imported in either order. "KOSDAQ
GLOBAL" is a KOSDAQ segment. A current listing (desc or marcap) marks a code delisted earlier as active again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.market.importers.common import (
    FatalImportError,
    ImportSummary,
    Reject,
    RowError,
    Tasks,
    header_index,
    merge_in_batches,
    open_csv,
    save_rejects,
)
from kstock.market.importers.listing_formats import DELISTING, DESC, ListingFormat, Row, detect_format
from kstock.market.indicators import recompute_indicators
from kstock.market.versions import MARKET_DATA, bump_version


@dataclass(frozen=True, slots=True)
class _Existing:
    status: str
    listing_date: dt.date | None
    delisting_date: dt.date | None
    isin: str | None
    shares_outstanding: int | None


@dataclass(slots=True)
class _ParsedListing:
    format: ListingFormat
    rows: list[tuple[int, Row, tuple[str, ...]]]  # (line, values, raw fields)
    rejects: list[Reject]
    rows_read: int


def _parse_listing(path: Path, tasks: Tasks) -> _ParsedListing:
    """Read and validate every row of a listing file (blocking; run it in a thread)."""
    with open_csv(path) as source:
        tasks.start_read(source.size)
        header = source.header()
        fmt = detect_format(header)
        positions = header_index(header, fmt.required)
        rows: list[tuple[int, Row, tuple[str, ...]]] = []
        rejects: list[Reject] = []
        rows_read = 0
        code_at = positions["symbol" if "symbol" in positions else "code"]
        for fields in source.reader:
            if not fields:
                continue
            rows_read += 1
            line = source.reader.line_num
            raw = tuple(fields)
            code = fields[code_at] if len(fields) > code_at else ""
            if len(fields) != len(header):
                rejects.append(
                    Reject(line, code, "wrong column count", f"{len(fields)} fields, header has {len(header)}", raw)
                )
                continue

            def get(name: str, fields: list[str] = fields) -> str:
                index = positions.get(name)
                return fields[index] if index is not None else ""

            try:
                rows.append((line, fmt.parse(get), raw))
            except RowError as exc:
                rejects.append(Reject(line, code, exc.reason, exc.detail, raw))
        tasks.finish_read()
    return _ParsedListing(fmt, rows, rejects, rows_read)


def _dedupe(parsed: _ParsedListing) -> None:
    """One row per code: the first, or for delistings the latest delisting (codes get reused)."""
    kept: dict[str, tuple[int, Row, tuple[str, ...]]] = {}
    for entry in parsed.rows:
        code = entry[1]["code"]
        previous = kept.get(code)
        if previous is None:
            kept[code] = entry
            continue
        loser = entry
        if parsed.format.kind == DELISTING and entry[1]["delisting_date"] > previous[1]["delisting_date"]:
            kept[code], loser = entry, previous
        winner_line = kept[code][0]
        parsed.rejects.append(Reject(loser[0], code, "duplicate code", f"line {winner_line} kept", loser[2]))
    parsed.rows = sorted(kept.values(), key=lambda entry: entry[0])


def _inherit_industry(rows: Sequence[tuple[int, Row, tuple[str, ...]]]) -> None:
    """A preferred share listed without an industry (005935, 00104K) gets its common share's (005930, 001040)."""
    by_code = {values["code"]: values for _, values, _ in rows}
    for _, values, _ in rows:
        common = by_code.get(values["code"][:5] + "0")
        if values["industry"] is None and common is not None and common is not values:
            values["industry"], values["sector"] = common["industry"], common["sector"]


def _reconcile(parsed: _ParsedListing, existing: dict[str, _Existing]) -> bool:
    """Fill status columns from what the database holds and reject conflicts; True when shares change."""
    isin_owner = {row.isin: code for code, row in existing.items() if row.isin}
    seen_isins: dict[str, int] = {}
    kept: list[tuple[int, Row, tuple[str, ...]]] = []
    shares_changed = False
    for line, values, raw in parsed.rows:
        code = values["code"]
        before = existing.get(code)
        error: RowError | None = None
        if parsed.format.kind == DELISTING:
            if before is not None and before.status != "delisted":
                if before.listing_date is None or before.listing_date > values["delisting_date"]:
                    error = RowError("code reused by a later listing", f"listed {before.listing_date}")
        else:
            if before is None or before.status == "delisted":
                values["status"], values["delisting_date"] = "active", None
            else:
                values["status"], values["delisting_date"] = before.status, before.delisting_date
        isin = values.get("isin")
        if isin is not None:
            if isin_owner.get(isin, code) != code:
                error = RowError("ISIN used by another code", f"{isin} is {isin_owner[isin]}")
            elif isin in seen_isins:
                error = RowError("duplicate ISIN", f"{isin} also on line {seen_isins[isin]}")
            seen_isins.setdefault(isin, line)
        if error is not None:
            parsed.rejects.append(Reject(line, code, error.reason, error.detail, raw))
            continue
        if "shares_outstanding" in values and values["shares_outstanding"] != (
            before.shares_outstanding if before else None
        ):
            shares_changed = True
        kept.append((line, values, raw))
    parsed.rows = kept
    parsed.rejects.sort(key=lambda reject: reject.line)
    return shares_changed


async def _existing_instruments(engine: AsyncEngine) -> dict[str, _Existing]:
    async with engine.connect() as connection:
        result = await connection.execute(
            text("SELECT code, status, listing_date, delisting_date, isin, shares_outstanding FROM instruments")
        )
        existing: dict[str, _Existing] = {}
        for code, status, listing_date, delisting_date, isin, shares in result:
            # SQLite hands dates back as text through a plain text() query.
            if isinstance(listing_date, str):
                listing_date = dt.date.fromisoformat(listing_date)
            if isinstance(delisting_date, str):
                delisting_date = dt.date.fromisoformat(delisting_date)
            existing[code] = _Existing(status, listing_date, delisting_date, isin, shares)
    return existing


def _record(values: Row, columns: Sequence[str], iso_dates: bool) -> tuple[Any, ...]:
    return tuple(
        value.isoformat() if iso_dates and isinstance(value, dt.date) else value
        for value in (values[column] for column in columns)
    )


async def import_listing(
    engine: AsyncEngine,
    path: Path,
    *,
    batch_size: int,
    progress: Progress | None,
    rejects_path: Path | None = None,
) -> ImportSummary:
    """Import a KRX listing file (desc, marcap or delisting) into ``instruments`` (idempotent)."""
    started = time.perf_counter()
    summary = ImportSummary(file=path, kind="listing")
    tasks = Tasks(progress, path.name)
    try:
        parsed = await asyncio.to_thread(_parse_listing, path, tasks)
    except FatalImportError as exc:
        summary.fatal = str(exc)
        summary.seconds = time.perf_counter() - started
        return summary
    fmt = parsed.format
    summary.kind, summary.rows_read = fmt.kind, parsed.rows_read
    _dedupe(parsed)
    if fmt.kind == DESC:
        _inherit_industry(parsed.rows)
    shares_changed = _reconcile(parsed, await _existing_instruments(engine))
    summary.rejected = parsed.rejects
    if not await save_rejects(summary, rejects_path):
        summary.seconds = time.perf_counter() - started
        return summary

    iso_dates = engine.dialect.name != "postgresql"
    records = [_record(values, fmt.columns, iso_dates) for _, values, _ in parsed.rows]
    await merge_in_batches(
        engine,
        summary,
        tasks,
        table="instruments",
        columns=fmt.columns,
        key=("code",),
        total=len(records),
        batch_size=batch_size,
        batch=lambda start, stop: records[start:stop],
        update=fmt.update,
        touch="updated_at",
    )

    if shares_changed and (summary.inserted or summary.updated):
        # Market caps depend on shares outstanding (recomputing also bumps the market data version).
        async with engine.begin() as connection:
            summary.indicators = await recompute_indicators(connection)
    elif summary.inserted or summary.updated:
        async with engine.begin() as connection:
            await bump_version(connection, MARKET_DATA)
    summary.seconds = time.perf_counter() - started
    return summary
