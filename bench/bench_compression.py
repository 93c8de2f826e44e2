"""What response compression costs and saves: ten years of daily prices of one stock (`GET
/v1/stocks/005930/prices`), sent as is, gzip-encoded and brotli-encoded.

    .venv/bin/python -m bench.bench_compression [--requests 1000] [--concurrency 1] [--rounds 5]
        [--stocks 50 --years 10 | --database-url ...] [--no-baseline]

Starts `kstock serve` on a demo dataset (made once under bench/results/) with compression on (the default
threshold) and measures the three encodings in interleaved rounds against the same server, so machine noise falls
on all of them alike; per encoding, the median round by p50. The server's rendered-history cache is on, as in
production: what the encoded cases add is the compression itself. A second server with
KSTOCK_COMPRESSION_MIN_BYTES=0 (no compression middleware at all) measures the plain case once more, to show what
the middleware costs a client that does not ask for compression.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import time
import zlib
from collections.abc import Callable

import brotli
import httpx

from bench.bench_api_latency import dataset_url, ensure_dataset
from bench.loadgen import LoadResult, machine, run_client, run_load
from bench.server import LOAD_TEST_ENV, serving
from kstock.config import Settings

ENCODINGS = {"identity": {}, "gzip": {"Accept-Encoding": "gzip"}, "br": {"Accept-Encoding": "gzip, deflate, br"}}


def history_path(years: int) -> str:
    to_date = dt.date.today()
    return f"/v1/stocks/005930/prices?from_date={to_date.replace(year=to_date.year - years)}&to_date={to_date}"


def gzip_bytes(body: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def brotli_bytes(body: bytes, quality: int) -> bytes:
    data: bytes = brotli.compress(body, quality=quality)
    return data


def levels(body: bytes, repeat: int = 20) -> None:
    """In this process, without the server: each level's time and ratio on ``body``, to show the choice."""
    from kstock.gateway.compression import BROTLI_QUALITY, GZIP_LEVEL

    cases: list[tuple[str, int, Callable[[bytes, int], bytes], bool]]
    cases = [("gzip", level, gzip_bytes, level == GZIP_LEVEL) for level in (1, 3, 6, 9)]
    cases += [("brotli", quality, brotli_bytes, quality == BROTLI_QUALITY) for quality in (1, 2, 4, 6)]
    print(f"\nlevels on the {len(body) / 1024:.1f} KiB body (one core, no server; * = the server's choice):")
    for name, level, compress, chosen in cases:
        started = time.perf_counter()
        for _ in range(repeat):
            size = len(compress(body, level))
        ms = (time.perf_counter() - started) / repeat * 1000
        mark = "*" if chosen else " "
        print(f" {mark} {name} {level}: {ms:6.2f} ms  {size / 1024:6.1f} KiB  {len(body) / size:4.1f}x")


def check(port: int, path: str) -> bytes:
    """Each encoding decodes to the same body; that body."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        bodies = {}
        for name, headers in ENCODINGS.items():
            with http.stream("GET", path, headers=headers or {"Accept-Encoding": "identity"}) as response:
                response.raise_for_status()
                raw = b"".join(response.iter_raw())
                if response.headers.get("content-encoding", "identity") != name:
                    raise RuntimeError(f"asked for {name}, got {response.headers}")
            bodies[name] = {"identity": lambda b: b, "gzip": gzip.decompress, "br": brotli.decompress}[name](raw)
        if not bodies["gzip"] == bodies["identity"] == bodies["br"]:
            raise RuntimeError("the encodings do not decode to the same body")
        body: bytes = bodies["identity"]
        return body


async def measure(port: int, path: str, requests: int, concurrency: int, rounds: int) -> dict[str, LoadResult]:
    results: dict[str, list[LoadResult]] = {name: [] for name in ENCODINGS}
    for round_no in range(rounds):
        for name, headers in ENCODINGS.items():
            result = await run_load(
                "127.0.0.1",
                port,
                [path],
                label=f"{name} round {round_no + 1}",
                concurrency=concurrency,
                requests=requests,
                warmup=50,
                headers=headers,
            )
            if result.errors:
                raise RuntimeError(f"{result.errors} requests failed in {result.label}")
            results[name].append(result)
    return {name: sorted(rs, key=lambda r: r.percentile(50))[len(rs) // 2] for name, rs in results.items()}


def body_kib(result: LoadResult) -> float:
    return result.bytes_received / max(len(result.latencies_ms), 1) / 1024


def report(medians: dict[str, LoadResult]) -> None:
    base = medians["identity"]
    columns = ("p50 ms", "p99 ms", "req/s", "+p50 ms", "+p99 ms", "KiB")
    print(f"\n{'encoding':<10} " + " ".join(f"{c:>8}" for c in columns) + f" {'ratio':>6}")
    for name, result in medians.items():
        p50, p99 = result.percentile(50), result.percentile(99)
        rate = len(result.latencies_ms) / result.seconds
        added = "" if name == "identity" else f"{p50 - base.percentile(50):>+8.3f} {p99 - base.percentile(99):>+8.3f}"
        print(
            f"{name:<10} {p50:>8.3f} {p99:>8.3f} {rate:>8.0f} {added:>17} {body_kib(result):>8.1f} "
            f"{body_kib(base) / body_kib(result):>6.1f}"
        )
    for mbit in (10, 100):
        times = ", ".join(
            f"{name} {body_kib(result) * 1024 * 8 / (mbit * 1e6) * 1000:.1f} ms" for name, result in medians.items()
        )
        print(f"time on the wire at {mbit} Mbit/s: {times}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--stocks", type=int, default=50)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--requests", type=int, default=1_000, help="per round and encoding")
    parser.add_argument("--concurrency", type=int, default=1, help="1 measures the cost per request, not queueing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    url = args.database_url or dataset_url(args.stocks, args.years, "compression")
    path = history_path(args.years)
    print(f"machine: {machine()}")
    print(f"database: {url.split('@')[-1]}  clients: {args.concurrency}  requests per round: {args.requests}")
    asyncio.run(ensure_dataset(Settings(database_url=url), args.stocks, args.years))

    with serving(url, LOAD_TEST_ENV) as port:
        body = check(port, path)
        bars = body.count(b'"trade_date"')
        print(f"GET {path}: {bars} daily bars, {len(body) / 1024:.1f} KiB")
        medians = run_client(measure(port, path, args.requests, args.concurrency, args.rounds))
    report(medians)
    levels(body)

    if args.baseline:
        with serving(url, {**LOAD_TEST_ENV, "KSTOCK_COMPRESSION_MIN_BYTES": "0"}) as port:
            off = run_client(measure_identity(port, path, args.requests, args.concurrency, args.rounds))
        added = medians["identity"].percentile(50) - off.percentile(50)
        print(
            f"\nno compression middleware: identity p50 {off.percentile(50):.3f} ms p99 {off.percentile(99):.3f} ms; "
            f"the middleware adds {added:+.3f} ms at p50 to a client that does not ask "
            f"(separate server run: noisier than the interleaved comparison above)"
        )


async def measure_identity(port: int, path: str, requests: int, concurrency: int, rounds: int) -> LoadResult:
    results = [
        await run_load(
            "127.0.0.1", port, [path], label=f"off round {i + 1}", concurrency=concurrency, requests=requests, warmup=50
        )
        for i in range(rounds)
    ]
    return sorted(results, key=lambda r: r.percentile(50))[len(results) // 2]


if __name__ == "__main__":
    main()
