"""Import daily OHLCV bars from KRX CSV files into ``daily_bars``.

Accepted layouts (told apart by the header, extra columns ignored): ``code,date,open,high,low,close,volume``
(krx_all_ohlcv_*), ``code,name,date,...`` (kospi_top30_ohlcv_*) and ``date,open,...,ticker,code,name,interval``
(ohlcv_long). Dates are ``YYYY-MM-DD`` or ``YYYYMMDD``; files may be plain, gzip or xz, with or without a BOM.

Halt days: KRX (via pykrx) reports a day on which a stock did not trade as open = high = low = 0, volume 0 and
the standing close (the real 2-year file has about 30,000 such rows). Such a row is stored as a flat bar at the
close with volume 0: the stock was listed and had a price that day, and keeping the day makes gaps in the data
mean "no data" rather than "halted". Any other zero or negative price is rejected.

Not rejected on purpose: prices off the tick grid and moves beyond the daily limit, because split-adjusted
history legitimately has both (adjustment rounds, and the real file has about 30 such moves).

The whole file is read and validated (in a worker thread) before the first write; then the valid rows are
merged in batches of ``batch_size``, each batch in its own transaction, and the indicators are recomputed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import operator
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.kit.krx import is_valid_code
from kstock.market.importers.common import (
    FatalImportError,
    ImportSummary,
    Reject,
    RowError,
    Tasks,
    header_index,
    merge_in_batches,
    open_csv,
    parse_date,
    save_rejects,
)
from kstock.market.indicators import recompute_indicators

PRICE_COLUMNS: Final = ("code", "date", "open", "high", "low", "close", "volume")
_BAR_COLUMNS: Final = ("code", "trade_date", "open", "high", "low", "close", "volume")
_MAX_BIGINT: Final = 2**63 - 1
_PROGRESS_MASK: Final = (1 << 16) - 1


@dataclass(slots=True)
class _ParsedPrices:
    """Valid rows as columns (compact for a million rows), plus what was rejected."""

    codes: list[str] = field(default_factory=list)
    dates: list[dt.date] = field(default_factory=list)
    opens: array[int] = field(default_factory=lambda: array("q"))
    highs: array[int] = field(default_factory=lambda: array("q"))
    lows: array[int] = field(default_factory=lambda: array("q"))
    closes: array[int] = field(default_factory=lambda: array("q"))
    volumes: array[int] = field(default_factory=lambda: array("q"))
    lines: array[int] = field(default_factory=lambda: array("q"))
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    halted: int = 0

    def __len__(self) -> int:
        return len(self.codes)

    def records(self, start: int, stop: int, iso_dates: bool) -> list[tuple[Any, ...]]:
        """Rows ``start:stop`` as ``daily_bars`` tuples (dates as text for SQLite)."""
        dates: list[Any] = self.dates[start:stop]
        if iso_dates:
            iso = {day: day.isoformat() for day in set(dates)}
            dates = [iso[day] for day in dates]
        return list(
            zip(
                self.codes[start:stop],
                dates,
                self.opens[start:stop].tolist(),
                self.highs[start:stop].tolist(),
                self.lows[start:stop].tolist(),
                self.closes[start:stop].tolist(),
                self.volumes[start:stop].tolist(),
                strict=True,
            )
        )

    def drop(self, indices: list[int]) -> None:
        """Remove the rows at ``indices`` (duplicates found after the pass)."""
        keep = np.ones(len(self), dtype=bool)
        keep[indices] = False
        self.codes = [c for c, k in zip(self.codes, keep.tolist(), strict=True) if k]
        self.dates = [d for d, k in zip(self.dates, keep.tolist(), strict=True) if k]
        for name in ("opens", "highs", "lows", "closes", "volumes", "lines"):
            column = np.frombuffer(getattr(self, name), dtype=np.int64)[keep]
            setattr(self, name, array("q", column.tobytes()))


def _integer_error(values: tuple[str, ...]) -> RowError:
    names = ("open", "high", "low", "close", "volume")
    for name, value in zip(names, values, strict=True):
        try:
            int(value)
        except ValueError:
            reason = "non-integer volume" if name == "volume" else "non-integer price"
            return RowError(reason, f"{name}={value!r}")
    return RowError("non-integer price")


def _code_error(code: str) -> RowError:
    if is_valid_code(code):
        return RowError("code not in listing", "import the listing first")
    return RowError("bad code", f"{code!r} (codes are 6 characters [0-9A-Z], read as text)")


def _check_bar(o: int, h: int, low: int, c: int, v: int) -> None:
    """Raise :class:`RowError` when a bar (after halt handling) is invalid."""
    if v < 0:
        raise RowError("negative volume", f"volume={v}")
    if not (0 < low <= o <= h and low <= c <= h):
        if min(o, h, low, c) <= 0:
            raise RowError("non-positive price", f"open={o} high={h} low={low} close={c}")
        raise RowError("OHLC inconsistent", f"open={o} high={h} low={low} close={c}")
    if h > _MAX_BIGINT or v > _MAX_BIGINT:
        raise RowError("value out of range", f"high={h} volume={v}")


def _parse_prices(path: Path, known_codes: frozenset[str], tasks: Tasks) -> _ParsedPrices:
    """Read and validate every row of ``path`` (blocking; run it in a thread)."""
    parsed = _ParsedPrices()
    rejects = parsed.rejects
    date_cache: dict[str, dt.date] = {}
    gc_was_enabled = gc.isenabled()
    # A million short-lived row lists trigger the cyclic collector thousands of times for nothing.
    gc.disable()
    try:
        with open_csv(path) as source:
            tasks.start_read(source.size)
            header = source.header()
            positions = header_index(header, PRICE_COLUMNS)
            width = len(header)
            pick = operator.itemgetter(*(positions[name] for name in PRICE_COLUMNS))
            code_at = positions["code"]
            reader = source.reader
            # Bound methods as locals: this loop runs once per row of files with millions of rows.
            add_code, add_date, add_line = parsed.codes.append, parsed.dates.append, parsed.lines.append
            add_open, add_high, add_low = parsed.opens.append, parsed.highs.append, parsed.lows.append
            add_close, add_volume = parsed.closes.append, parsed.volumes.append
            rows_read = halted = 0
            for row in reader:
                if not row:
                    continue  # a blank line is not a row
                rows_read += 1
                if not rows_read & _PROGRESS_MASK:
                    tasks.read_to(source.tell())
                try:
                    if len(row) != width:
                        raise RowError("wrong column count", f"{len(row)} fields, header has {width}")
                    code, date_text, open_text, high_text, low_text, close_text, volume_text = pick(row)
                    if code not in known_codes:
                        raise _code_error(code)
                    trade_date = date_cache.get(date_text)
                    if trade_date is None:
                        trade_date = date_cache[date_text] = parse_date(date_text)
                    try:
                        o, h, low, c = int(open_text), int(high_text), int(low_text), int(close_text)
                        v = int(volume_text)
                    except ValueError:
                        raise _integer_error((open_text, high_text, low_text, close_text, volume_text)) from None
                    is_halt = o == 0 and h == 0 and low == 0 and v == 0 and c > 0
                    if is_halt:
                        o = h = low = c
                    _check_bar(o, h, low, c, v)
                except RowError as exc:
                    code = row[code_at] if len(row) > code_at else ""
                    rejects.append(Reject(reader.line_num, code, exc.reason, exc.detail, tuple(row)))
                    continue
                halted += is_halt
                add_code(code)
                add_date(trade_date)
                add_open(o)
                add_high(h)
                add_low(low)
                add_close(c)
                add_volume(v)
                add_line(reader.line_num)
            parsed.rows_read, parsed.halted = rows_read, halted
    finally:
        if gc_was_enabled:
            gc.enable()
    _reject_duplicates(parsed)
    tasks.finish_read()
    return parsed


def _reject_duplicates(parsed: _ParsedPrices) -> None:
    """Keep the first valid row of each (code, date); reject the later ones."""
    if not len(parsed):
        return
    code_ids: dict[str, int] = {}
    code_index = np.fromiter(
        (code_ids.setdefault(code, len(code_ids)) for code in parsed.codes), dtype=np.int64, count=len(parsed)
    )
    ordinals = np.fromiter(map(dt.date.toordinal, parsed.dates), dtype=np.int64, count=len(parsed))
    keys = code_index * 1_000_000 + ordinals  # date ordinals stay below 1,000,000 until the year 2739
    _, first = np.unique(keys, return_index=True)
    if len(first) == len(parsed):
        return
    is_first = np.zeros(len(parsed), dtype=bool)
    is_first[first] = True
    duplicates = np.flatnonzero(~is_first).tolist()
    first_line = {int(keys[i]): parsed.lines[i] for i in first.tolist()}
    for index in duplicates:
        line = parsed.lines[index]
        raw = (
            parsed.codes[index],
            parsed.dates[index].isoformat(),
            *(str(getattr(parsed, name)[index]) for name in ("opens", "highs", "lows", "closes", "volumes")),
        )
        detail = f"same code and date as line {first_line[int(keys[index])]}"
        parsed.rejects.append(Reject(line, parsed.codes[index], "duplicate (code, date)", detail, raw))
    parsed.rejects.sort(key=lambda reject: reject.line)
    parsed.drop(duplicates)


async def import_prices(
    engine: AsyncEngine,
    path: Path,
    *,
    batch_size: int,
    progress: Progress | None,
    rejects_path: Path | None = None,
) -> ImportSummary:
    """Import a daily-price CSV into ``daily_bars`` (idempotent), then recompute the indicators."""
    started = time.perf_counter()
    summary = ImportSummary(file=path, kind="daily prices")
    tasks = Tasks(progress, path.name)
    async with engine.connect() as connection:
        known = frozenset((await connection.execute(text("SELECT code FROM instruments"))).scalars())
    try:
        parsed = await asyncio.to_thread(_parse_prices, path, known, tasks)
    except FatalImportError as exc:
        summary.fatal = str(exc)
        summary.seconds = time.perf_counter() - started
        return summary
    summary.phase_seconds["read"] = time.perf_counter() - started
    summary.rows_read, summary.halted, summary.rejected = parsed.rows_read, parsed.halted, parsed.rejects
    if not await save_rejects(summary, rejects_path):
        summary.seconds = time.perf_counter() - started
        return summary

    iso_dates = engine.dialect.name != "postgresql"
    write_started = time.perf_counter()
    await merge_in_batches(
        engine,
        summary,
        tasks,
        table="daily_bars",
        columns=_BAR_COLUMNS,
        key=("code", "trade_date"),
        total=len(parsed),
        batch_size=batch_size,
        batch=lambda start, stop: parsed.records(start, stop, iso_dates),
    )
    summary.phase_seconds["write"] = time.perf_counter() - write_started
    if summary.inserted or summary.updated:  # an unchanged re-import leaves the indicators (and version) alone
        indicators_started = time.perf_counter()
        async with engine.begin() as connection:
            summary.indicators = await recompute_indicators(connection)
        summary.phase_seconds["indicators"] = time.perf_counter() - indicators_started
    summary.seconds = time.perf_counter() - started
    return summary
