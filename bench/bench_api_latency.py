"""Latency of the market-data API under load: 32 concurrent clients against a running `kstock serve`.

    .venv/bin/python -m bench.bench_api_latency [--years 10] [--requests 5000] [--concurrency 32]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/kstock_bench] [--workers 1]

Targets (issue: foundation): GET /v1/stocks/005930 p99 < 20 ms; ten years of daily prices p99 < 50 ms.
The dataset is the demo dataset made with --years 10 (made once and kept under bench/results/).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.loadgen import machine, median_round, run_client, run_load
from bench.server import LOAD_TEST_ENV, serving
from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.demo import database_is_empty, generate_demo

ROOT = Path(__file__).resolve().parent.parent


def dataset_url(stocks: int, years: int, name: str = "latency") -> str:
    """A SQLite file of the demo market for the HTTP benchmarks, kept under bench/results/ and reused."""
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{results / f'{name}_{stocks}x{years}y.db'}"


async def ensure_dataset(settings: Settings, stocks: int, years: int) -> None:
    engine: AsyncEngine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        if await database_is_empty(engine):
            started = time.perf_counter()
            await generate_demo(
                engine, stocks=stocks, years=years, seed=settings.demo_seed, replace=False, progress=None
            )
            print(f"dataset: generated {stocks} stocks x {years} years in {time.perf_counter() - started:.1f} s")
    finally:
        await engine.dispose()


async def measure(port: int, requests: int, concurrency: int, years: int, rounds: int) -> None:
    to_date = dt.date.today()
    from_date = to_date.replace(year=to_date.year - years)
    cases = [
        ("GET /v1/stocks/005930", ["/v1/stocks/005930"], 20.0),
        (
            f"GET /v1/stocks/005930/prices ({years}y daily)",
            [f"/v1/stocks/005930/prices?from_date={from_date}&to_date={to_date}"],
            50.0,
        ),
    ]
    for label, paths, target in cases:
        results = [
            await run_load(
                "127.0.0.1", port, paths, label=f"{label} round {i + 1}", concurrency=concurrency, requests=requests
            )
            for i in range(rounds)
        ]
        for result in results:
            print(f"  {result.line()}")
        # This VM's neighbours make single rounds noisy: the verdict uses the median round by p99.
        median = median_round(results)
        verdict = "OK" if median.percentile(99) < target else "MISSED"
        print(
            f"{label}: median round p50={median.percentile(50):.2f} ms p99={median.percentile(99):.2f} ms "
            f"({len(median.latencies_ms) / median.seconds:.0f} req/s)  target p99<{target:.0f} ms: {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--stocks", type=int, default=2_400)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case; the median round decides")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server worker counts to measure (default: 1 2)"
    )
    parser.add_argument(
        "--no-cache-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure with the response cache off (every request reads the database)",
    )
    args = parser.parse_args()

    url = args.database_url or dataset_url(args.stocks, args.years)
    settings = Settings(database_url=url)
    print(f"machine: {machine()}")
    print(f"database: {url.split('@')[-1]}  clients: {args.concurrency}  requests per case: {args.requests}")
    asyncio.run(ensure_dataset(settings, args.stocks, args.years))
    runs = [(workers, True) for workers in args.workers]
    if args.no_cache_run:
        runs.append((max(args.workers), False))
    for workers, cache in runs:
        print(f"\n-- server workers: {workers}, response cache: {'on' if cache else 'off'}")
        run_server(url, workers, cache, args)


def run_server(url: str, workers: int, cache: bool, args: argparse.Namespace) -> None:
    env = dict(LOAD_TEST_ENV) if cache else {**LOAD_TEST_ENV, "KSTOCK_CACHE_MAX_ENTRIES": "0"}
    with serving(url, env, workers) as port:
        run_client(measure(port, args.requests, args.concurrency, args.years, args.rounds))


if __name__ == "__main__":
    main()
