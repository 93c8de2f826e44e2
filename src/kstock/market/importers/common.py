"""Shared pieces of the KRX file importers: the summary, rejects, and reading a (compressed) CSV safely."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gzip
import io
import lzma
import re
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import asyncpg  # type: ignore[import-untyped, unused-ignore]
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.db.bulk import merge_rows

if TYPE_CHECKING:
    from _csv import Reader

SHOWN_REJECTS: Final = 10
_XZ_MAGIC: Final = b"\xfd7zXZ\x00"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$")
# Everything a damaged file can raise while it is decompressed, decoded or split into fields.
_READ_ERRORS: Final = (OSError, EOFError, lzma.LZMAError, zlib.error, UnicodeDecodeError, csv.Error)
# What a failed batch write can raise: SQLAlchemy errors, and the drivers' own from the COPY/executemany path.
WRITE_ERRORS: Final = (SQLAlchemyError, asyncpg.PostgresError, sqlite3.Error, OSError)


class FatalImportError(Exception):
    """The file as a whole cannot be imported (unreadable, corrupt, or without the needed columns)."""


class RowError(ValueError):
    """One field of one row is invalid; ``reason`` is the stable category counted in the summary."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Reject:
    """A row left out of the import, with the file line it came from and why."""

    line: int
    code: str
    reason: str
    detail: str
    raw: tuple[str, ...]


@dataclass(slots=True)
class ImportSummary:
    """The outcome of one file import; ``fatal`` says why the file failed (unreadable, or a batch not written)."""

    file: Path
    kind: str = ""
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    halted: int = 0
    rejected: list[Reject] = field(default_factory=list)
    fatal: str | None = None
    seconds: float = 0.0
    rejects_path: Path | None = None
    indicators: int | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)  # "read", "write", "indicators"

    @property
    def ok(self) -> bool:
        """True unless the file failed as a whole (rejected rows alone do not fail an import)."""
        return self.fatal is None

    @property
    def loaded(self) -> int:
        """Rows newly added to the database."""
        return self.inserted

    def reject_counts(self) -> Counter[str]:
        """Number of rejected rows per reason."""
        return Counter(reject.reason for reject in self.rejected)

    def as_table(self) -> Table:
        """A rich table: counts, rejects per reason, the first rejects, where the full list went."""
        title = f"import {self.file.name}" + (f" ({self.kind})" if self.kind else "")
        table = Table(title=title, show_header=False, title_justify="left", min_width=len(title) + 4)
        table.add_column("what")
        table.add_column("value", justify="right")
        notes = [f"{self.rows_read / self.seconds:,.0f} rows/s"] if self.seconds > 0 and self.rows_read else []
        notes += [f"{phase} {seconds:.1f}" for phase, seconds in self.phase_seconds.items()]
        rate = f" ({'; '.join(notes)})" if notes else ""
        table.add_row("rows read", f"{self.rows_read:,}")
        table.add_row("inserted", f"{self.inserted:,}")
        table.add_row("updated", f"{self.updated:,}")
        table.add_row("unchanged", f"{self.unchanged:,}")
        if self.halted:
            table.add_row("halt days stored as flat bars", f"{self.halted:,}")
        table.add_row("rejected", f"{len(self.rejected):,}", style="yellow" if self.rejected else None)
        for reason, count in self.reject_counts().most_common():
            table.add_row(f"  {reason}", f"{count:,}")
        for reject in self.rejected[:SHOWN_REJECTS]:
            detail = f": {reject.detail}" if reject.detail else ""
            table.add_row(
                f"  line {reject.line} {reject.code or '-'}", Text(f"{reject.reason}{detail}", justify="left")
            )
        if len(self.rejected) > SHOWN_REJECTS:
            table.add_row(f"  ... {len(self.rejected) - SHOWN_REJECTS:,} more", "")
        if self.rejects_path is not None:
            table.add_row("all rejects written to", Text(str(self.rejects_path), justify="left", overflow="fold"))
        if self.indicators is not None:
            table.add_row("indicators recomputed", f"{self.indicators:,}")
        table.add_row("seconds", f"{self.seconds:.1f}{rate}")
        if self.fatal is not None:
            table.add_row("FAILED", Text(self.fatal, justify="left"), style="bold red")
        return table


def default_rejects_path(path: Path) -> Path:
    """``kstock-rejects-<stem>.csv`` in the working directory (``.csv``/``.xz``/``.gz`` suffixes dropped)."""
    stem = path.name
    for suffix in (".xz", ".gz", ".csv"):
        stem = stem.removesuffix(suffix)
    return Path.cwd() / f"kstock-rejects-{stem}.csv"


async def save_rejects(summary: ImportSummary, rejects_path: Path | None) -> bool:
    """Write ``summary.rejected`` to a CSV file; False, with ``fatal`` set, when it cannot be written."""
    if not summary.rejected:
        return True
    target = rejects_path or default_rejects_path(summary.file)
    try:
        await asyncio.to_thread(write_rejects, summary.rejected, target)
    except OSError as exc:
        # Every reject's reason must be available, so an import that cannot record them does not start.
        summary.fatal = f"cannot write the rejects file {target} ({exc}); nothing was imported"
        return False
    summary.rejects_path = target
    return True


def write_rejects(rejects: Sequence[Reject], path: Path) -> None:
    """Every reject as CSV (line, code, reason, detail, raw row); BOM so spreadsheet tools read the Korean."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("line", "code", "reason", "detail", "raw"))
        raw_line = io.StringIO()
        raw_writer = csv.writer(raw_line, lineterminator="")
        for reject in rejects:
            raw_line.seek(0)
            raw_line.truncate()
            raw_writer.writerow(reject.raw)
            writer.writerow((reject.line, reject.code, reject.reason, reject.detail, raw_line.getvalue()))


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` or ``YYYYMMDD``; raises :class:`RowError` otherwise."""
    match = _DATE.match(text)
    if match is None:
        raise RowError("unknown date format", repr(text))
    groups = [g for g in match.groups() if g is not None]
    try:
        return dt.date(int(groups[0]), int(groups[1]), int(groups[2]))
    except ValueError:
        raise RowError("invalid date", repr(text)) from None


def header_index(header: Sequence[str], required: Sequence[str]) -> dict[str, int]:
    """Column positions by lower-cased name; raises :class:`FatalImportError` naming any missing column."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name.strip().lower(), index)
    missing = [name for name in required if name not in positions]
    if missing:
        raise FatalImportError(f"missing column(s) {', '.join(missing)} in header {list(header)}")
    return positions


class CsvSource:
    """A CSV file opened for one pass: plain, gzip or xz (told by magic bytes), UTF-8 with or without BOM."""

    def __init__(self, path: Path, reader: Reader, tell: Callable[[], int], size: int) -> None:
        self.path = path
        self.reader = reader
        self.tell = tell
        self.size = size

    def header(self) -> list[str]:
        """The first row; an empty file is fatal."""
        try:
            return next(self.reader)
        except StopIteration:
            raise FatalImportError("the file is empty") from None


@contextmanager
def open_csv(path: Path) -> Iterator[CsvSource]:
    """Open ``path`` for reading rows; any read or decode error inside the block becomes :class:`FatalImportError`."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FatalImportError(f"cannot open {path}: {exc}") from exc
    try:
        magic = raw.read(6)
        raw.seek(0)
        stream: io.BufferedIOBase | io.RawIOBase
        if magic.startswith(_XZ_MAGIC):
            stream = lzma.LZMAFile(raw)
        elif magic.startswith(_GZIP_MAGIC):
            stream = gzip.GzipFile(fileobj=raw)
        else:
            stream = raw
        # errors="strict": undecodable bytes mean a wrong or damaged file, not a row to skip.
        text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text_stream)
        yield CsvSource(path, reader, raw.tell, max(path.stat().st_size, 1))
    except _READ_ERRORS as exc:
        hint = " (the file must be UTF-8; convert EUC-KR exports with iconv -f cp949 -t utf-8)"
        message = f"cannot read {path.name}: {type(exc).__name__}: {exc}"
        raise FatalImportError(message + (hint if isinstance(exc, UnicodeDecodeError) else "")) from exc
    finally:
        raw.close()


class Tasks:
    """The reading and writing progress tasks, or nothing when no progress display is given."""

    def __init__(self, progress: Progress | None, name: str) -> None:
        self.progress = progress
        self.name = name
        self.read: TaskID | None = None
        self.write: TaskID | None = None
        self.read_total = 0

    def start_read(self, total_bytes: int) -> None:
        """Add the reading task, measured in bytes of the (possibly compressed) file."""
        self.read_total = total_bytes
        if self.progress is not None:
            self.read = self.progress.add_task(f"reading {self.name}", total=total_bytes)

    def read_to(self, position: int) -> None:
        """Move the reading task to a byte position."""
        if self.progress is not None and self.read is not None:
            self.progress.update(self.read, completed=position)

    def finish_read(self) -> None:
        """Mark the reading task complete."""
        if self.progress is not None and self.read is not None:
            self.progress.update(self.read, completed=self.read_total)

    def start_write(self, total_rows: int) -> None:
        """Add the writing task, measured in rows."""
        if self.progress is not None:
            self.write = self.progress.add_task(f"writing {self.name}", total=total_rows)

    def wrote(self, rows: int) -> None:
        """Advance the writing task by one batch."""
        if self.progress is not None and self.write is not None:
            self.progress.advance(self.write, rows)


async def merge_in_batches(
    engine: AsyncEngine,
    summary: ImportSummary,
    tasks: Tasks,
    *,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    total: int,
    batch_size: int,
    batch: Callable[[int, int], Sequence[Sequence[Any]]],
    update: Sequence[str] | None = None,
    touch: str | None = None,
) -> None:
    """Merge rows ``batch(start, stop)`` for ``0..total`` into ``table``, one transaction per batch.

    Counts go into ``summary``; the first failing batch is rolled back, sets ``fatal`` and stops the import
    (earlier batches stay committed, and importing the file again completes it).
    """
    tasks.start_write(total)
    batches = max(1, -(-total // batch_size))
    for number, start in enumerate(range(0, total, batch_size), start=1):
        records = batch(start, min(start + batch_size, total))
        try:
            async with engine.begin() as connection:
                counts = await merge_rows(connection, table, columns, records, key=key, update=update, touch=touch)
        except WRITE_ERRORS as exc:
            summary.fatal = f"batch {number} of {batches} failed and was rolled back ({type(exc).__name__}: {exc})"
            return
        summary.inserted += counts.inserted
        summary.updated += counts.updated
        summary.unchanged += counts.unchanged
        tasks.wrote(len(records))
