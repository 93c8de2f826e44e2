"""Benchmark the KRX importers: listing, then the full 2-year price file, then a re-import (must change nothing).

Usage: .venv/bin/python bench/bench_import.py [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432] [--sqlite]
    [--data-dir DIR] [--batch-size N]

PostgreSQL: a fresh database is created for the run and dropped after. --sqlite: a temporary SQLite file instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.importers import ImportSummary, import_listing, import_prices

REPO_ROOT = Path(__file__).resolve().parent.parent
PRICE_FILE = "ohlcv_2y/krx_all_ohlcv_20231205_20250617.csv.xz"
LISTING_FILES = (
    "listing/krx_desc_2026-03-20.csv",
    "listing/krx_quotes_marcap_2026-03-20.csv",
    "listing/krx_delisting_2026-03-20.csv",
)


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def report(label: str, summary: ImportSummary) -> None:
    rate = summary.rows_read / summary.seconds if summary.seconds else 0.0
    print(
        f"{label:<28} {summary.seconds:7.2f} s {rate:11,.0f} rows/s  read {summary.rows_read:>9,}"
        f"  inserted {summary.inserted:>9,}  updated {summary.updated:>7,}  unchanged {summary.unchanged:>9,}"
        f"  rejected {len(summary.rejected):>6,}" + (f"  halt->flat {summary.halted:,}" if summary.halted else "")
    )
    if summary.phase_seconds:
        print(f"{'':<30}" + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in summary.phase_seconds.items()))
    for reason, count in summary.reject_counts().most_common():
        print(f"{'':<30}reject {reason}: {count:,}")
    if summary.fatal:
        print(f"{'':<30}FATAL: {summary.fatal}")


async def run(engine: AsyncEngine, data_dir: Path, batch_size: int, rejects_dir: Path) -> bool:
    started = time.perf_counter()
    await migrate.upgrade(engine)
    print(f"{'migrate':<28} {time.perf_counter() - started:7.2f} s")
    ok = True
    for name in LISTING_FILES:
        path = data_dir / name
        summary = await import_listing(
            engine, path, batch_size=batch_size, progress=None, rejects_path=rejects_dir / f"{path.stem}.csv"
        )
        report(f"listing {path.name[:20]}", summary)
        ok = ok and summary.ok
    prices = data_dir / PRICE_FILE
    for label in ("prices (first import)", "prices (re-import)"):
        summary = await import_prices(
            engine, prices, batch_size=batch_size, progress=None, rejects_path=rejects_dir / "prices.csv"
        )
        report(label, summary)
        ok = ok and summary.ok
        if label.endswith("re-import") and (summary.inserted or summary.updated):
            print("NOT IDEMPOTENT: the re-import wrote rows")
            ok = False
    async with engine.connect() as connection:
        bars = (await connection.execute(text("SELECT COUNT(*) FROM daily_bars"))).scalar_one()
        indicators = (await connection.execute(text("SELECT COUNT(*) FROM stock_indicators"))).scalar_one()
    print(f"daily_bars rows: {bars:,}  stock_indicators rows: {indicators:,}")
    return ok


async def pg_admin(pg_url: str, sql: str) -> None:
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pg-url", default=os.environ.get("KSTOCK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("KSTOCK_KRX_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "krx")),
    )
    parser.add_argument("--batch-size", type=int, default=Settings.model_fields["import_batch_size"].default)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"data: {args.data_dir}  batch size: {args.batch_size:,}")
    with tempfile.TemporaryDirectory(prefix="kstock-bench-") as tmp:
        tmp_dir = Path(tmp)
        if args.sqlite:
            url = f"sqlite+aiosqlite:///{tmp_dir / 'bench.db'}"
            print("backend: SQLite (temporary file)")
            engine = create_engine(Settings(database_url=url, env="testing"))
            try:
                ok = await run(engine, args.data_dir, args.batch_size, tmp_dir)
            finally:
                await engine.dispose()
        else:
            db_name = f"kstock_bench_{uuid.uuid4().hex[:8]}"
            await pg_admin(args.pg_url, f'CREATE DATABASE "{db_name}"')
            print(f"backend: PostgreSQL (database {db_name}, dropped afterwards)")
            try:
                engine = create_engine(Settings(database_url=f"{args.pg_url}/{db_name}", env="testing"))
                try:
                    async with engine.connect() as connection:
                        version = (await connection.execute(text("SHOW server_version"))).scalar_one()
                    print(f"server: PostgreSQL {version}")
                    ok = await run(engine, args.data_dir, args.batch_size, tmp_dir)
                finally:
                    await engine.dispose()
            finally:
                await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
