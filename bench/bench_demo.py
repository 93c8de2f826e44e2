"""Benchmark: generate the demo dataset and load it into a fresh SQLite file (or an empty database by URL).

Usage: ``.venv/bin/python bench/bench_demo.py [--stocks 2400] [--years 5] [--seed S] [--db PATH | --url URL]``.
Prints the machine, generation and load time, row counts and rows/s, and the ratio to the 60 s budget that
``kstock data demo`` must meet with the defaults (2,400 stocks x 5 years on SQLite). With ``--db`` the file is
kept for later benchmarks (e.g. the latency benchmark uses ``--years 10``); without it a temporary file is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.demo import DemoSummary, generate_demo

BUDGET_S = 60.0


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's best guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fresh_sqlite_url(path: Path) -> str:
    """Remove any previous database file (and its WAL) at ``path`` and return its URL."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path}"


async def run(url: str, stocks: int, years: int, seed: int) -> tuple[float, DemoSummary]:
    """Migrate the database at ``url`` and load the demo; returns (migration seconds, summary)."""
    engine = create_engine(Settings(database_url=url))
    try:
        started = time.perf_counter()
        await migrate.upgrade(engine)
        migrated = time.perf_counter() - started
        summary = await generate_demo(engine, stocks=stocks, years=years, seed=seed, replace=False, progress=None)
    finally:
        await engine.dispose()
    return migrated, summary


def main() -> None:
    """Parse arguments, run the benchmark, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stocks", type=int, default=2_400)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20_240_101)
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--db", type=Path, help="SQLite file to (re)create and keep")
    target.add_argument("--url", help="database URL of an existing, empty database (e.g. postgresql+asyncpg://...)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kstock-bench-") as scratch:
        path: Path | None = None
        if args.url:
            url = args.url
        else:
            path = (args.db or Path(scratch) / "demo.db").resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = fresh_sqlite_url(path)
        migrated, summary = asyncio.run(run(url, args.stocks, args.years, args.seed))
        size_mb = sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*")) / 1e6 if path else None

    total = summary.generate_seconds + summary.load_seconds
    rows = summary.instruments + summary.bars + summary.statements
    print(f"machine      : {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}")
    print(f"software     : Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}")
    print(f"database     : {url.split('://', 1)[0]}{f' ({path}, {size_mb:,.0f} MB)' if path else ''}")
    print(f"dataset      : {args.stocks:,} stocks x {args.years} years, seed {args.seed}")
    print(f"trading days : {summary.first_date} .. {summary.last_date}")
    counts = f"{summary.instruments:,} instruments + {summary.bars:,} bars + {summary.statements:,} statements"
    print(f"rows         : {counts} = {rows:,}")
    print(f"migrate      : {migrated:7.2f} s")
    print(f"generate     : {summary.generate_seconds:7.2f} s")
    print(f"load         : {summary.load_seconds:7.2f} s  (insert, indexes, indicators, commit)")
    budget = f"{total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget"
    print(f"total        : {total:7.2f} s  ({rows / total:,.0f} rows/s; {budget})")


if __name__ == "__main__":
    main()
