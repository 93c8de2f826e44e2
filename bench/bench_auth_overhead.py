"""What authentication adds to a request: `GET /v1/stocks/005930` anonymous, with a Bearer token, with an API key.

    .venv/bin/python -m bench.bench_auth_overhead [--requests 3000] [--concurrency 1] [--rounds 5]
        [--stocks 200 --years 1 | --database-url ...] [--no-baseline]

Starts `kstock serve` on a small demo dataset (made once under bench/results/), registers a user and creates an
API key over HTTP, then measures the three cases in interleaved rounds against the same server, so machine noise
falls on all of them alike. Rate limits stay on (their cost is part of every case) but are set far above what the
benchmark sends through KSTOCK_RATE_LIMIT_* variables, so nothing is throttled; a second server with
KSTOCK_RATE_LIMIT_ENABLED=false measures the anonymous case once more to show what the limiter itself costs.

Target (issue: identity and access): authentication adds under 1 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.bench_api_latency import dataset_url, ensure_dataset
from bench.loadgen import LoadResult, machine, run_client, run_load
from bench.server import serving
from kstock.config import Settings

PATH = "/v1/stocks/005930"
TARGET_MS = 1.0
GENEROUS_LIMITS = {
    "KSTOCK_RATE_LIMIT_ANONYMOUS": "100000000/minute",
    "KSTOCK_RATE_LIMIT_FREE": "100000000/minute",
    "KSTOCK_RATE_LIMIT_BASIC": "100000000/minute",
    "KSTOCK_RATE_LIMIT_PRO": "100000000/minute",
    "KSTOCK_RATE_LIMIT_DATA_BURST": "100000000/second",
}


@contextmanager
def server(url: str, extra_env: dict[str, str]) -> Iterator[int]:
    """A `kstock serve` process on a free port, stopped on exit."""
    with serving(
        url, {"KSTOCK_LOG_LEVEL": "WARNING", "KSTOCK_SECRET_KEY": secrets.token_urlsafe(48), **extra_env}
    ) as port:
        yield port


def credentials(port: int) -> tuple[str, str | None]:
    """Register a user over HTTP; its access token, and an API key (None when the API-key endpoint is missing)."""
    email = f"bench-{secrets.token_hex(4)}@example.com"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        registered = http.post(
            "/v1/auth/register", json={"email": email, "password": f"Bench-{secrets.token_hex(8)}", "name": "Bench"}
        )
        registered.raise_for_status()
        token: str = registered.json()["access_token"]
        created = http.post(
            "/v1/api-keys", json={"name": "bench", "scopes": ["read"]}, headers={"Authorization": f"Bearer {token}"}
        )
        if created.status_code == 404:
            return token, None
        created.raise_for_status()
        key: str = created.json()["key"]
        return token, key


async def measure(
    port: int, cases: dict[str, dict[str, str]], requests: int, concurrency: int, rounds: int
) -> dict[str, LoadResult]:
    """Interleaved rounds of every case; per case, the median round by p50."""
    results: dict[str, list[LoadResult]] = {label: [] for label in cases}
    for round_no in range(rounds):
        for label, headers in cases.items():
            result = await run_load(
                "127.0.0.1",
                port,
                [PATH],
                label=f"{label} round {round_no + 1}",
                concurrency=concurrency,
                requests=requests,
                headers=headers,
            )
            if result.errors:
                raise RuntimeError(f"{result.errors} requests failed in {result.label}: was something throttled?")
            results[label].append(result)
    return {
        label: sorted(rounds_, key=lambda r: r.percentile(50))[len(rounds_) // 2] for label, rounds_ in results.items()
    }


def report(medians: dict[str, LoadResult], baseline: str) -> None:
    base = medians[baseline]
    print(f"\n{'case':<34} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'+p50 ms':>8} {'+p99 ms':>8}")
    for label, result in medians.items():
        p50, p99 = result.percentile(50), result.percentile(99)
        added = "" if label == baseline else f"{p50 - base.percentile(50):>+8.3f} {p99 - base.percentile(99):>+8.3f}"
        rate = len(result.latencies_ms) / result.seconds
        print(f"{label:<34} {p50:>8.3f} {p99:>8.3f} {rate:>8.0f} {added}")
    for label, result in medians.items():
        if label == baseline or not label.startswith("auth"):
            continue
        added_ms = result.percentile(50) - base.percentile(50)
        verdict = "met" if added_ms < TARGET_MS else "MISSED"
        print(f"{label}: adds {added_ms:.3f} ms at p50 (target < {TARGET_MS:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--stocks", type=int, default=200)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--requests", type=int, default=3_000, help="per round and case")
    parser.add_argument("--concurrency", type=int, default=1, help="1 measures the cost per request, not queueing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    url = args.database_url or dataset_url(args.stocks, args.years, "auth")
    print(f"machine: {machine()}")
    print(f"database: {url.split('@')[-1]}  clients: {args.concurrency}  requests per round: {args.requests}")
    print("rate limits: on, set far above the load through KSTOCK_RATE_LIMIT_* (nothing is throttled)")
    asyncio.run(ensure_dataset(Settings(database_url=url), args.stocks, args.years))

    with server(url, GENEROUS_LIMITS) as port:
        token, key = credentials(port)
        cases = {"anonymous": {}, "auth: Authorization: Bearer": {"Authorization": f"Bearer {token}"}}
        if key is None:
            print("POST /v1/api-keys is not there yet: measuring Bearer only")
        else:
            cases["auth: X-API-Key"] = {"X-API-Key": key}
        medians = run_client(measure(port, cases, args.requests, args.concurrency, args.rounds))
    report(medians, "anonymous")

    if args.baseline:
        with server(url, {"KSTOCK_RATE_LIMIT_ENABLED": "false"}) as port:
            off = run_client(measure(port, {"anonymous, limits off": {}}, args.requests, args.concurrency, args.rounds))
        limiter = medians["anonymous"].percentile(50) - off["anonymous, limits off"].percentile(50)
        print(
            f"\nanonymous with limits off: p50 {off['anonymous, limits off'].percentile(50):.3f} ms "
            f"p99 {off['anonymous, limits off'].percentile(99):.3f} ms; the limiter adds {limiter:.3f} ms at p50 "
            f"(separate server run: noisier than the interleaved comparison above)"
        )


if __name__ == "__main__":
    main()
