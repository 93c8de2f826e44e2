"""Valuing a portfolio under load: `GET /v1/portfolios/{id}` with 100 holdings at 32 concurrent clients.

    .venv/bin/python -m bench.bench_portfolio [--years 10] [--requests 5000] [--concurrency 32] [--rounds 3]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/kstock_bench] [--workers 1 2]
        [--holdings 100] [--in-process | --no-in-process] [--profile]

Target (issue: portfolios): p99 under 20 ms with 100 holdings at 32 concurrent clients.

The dataset is the latency benchmark's demo market (--years 10 on SQLite, made once under bench/results/). The
script registers a user over HTTP, makes it pro in the database (a free user keeps at most 20 holdings per
portfolio), signs in again once the server's 10 s user cache has expired, and creates a portfolio holding the 100
largest stocks by market cap, bought 30 days before the latest trading day. Requests are served from the
instance's portfolio cache (holdings read once, the detail rendered once per market snapshot revision; the
first request reads the database). Request limits are off as in the latency benchmark; authentication, audit and
metrics stay on. The portfolio is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import pstats
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import update

from bench.bench_api_latency import dataset_url, ensure_dataset
from bench.loadgen import LoadResult, machine, median_round, run_client, run_load
from bench.server import LOAD_TEST_ENV, serving
from kstock.app import create_app
from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.identity.models import User

TARGET_P99_MS = 20.0
FREE_HOLDINGS = 20  # QUOTAS["portfolio_holdings"] for the free tier: the 21st holding proves the upgrade
USER_CACHE_WAIT_S = 11.0  # the server keeps user records for 10 s


@dataclass
class Account:
    email: str
    password: str
    user_id: uuid.UUID
    portfolio_id: str = ""


def _check(response: httpx.Response, expected: int, what: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise SystemExit(f"{what}: expected {expected}, got {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def login(http: httpx.Client, account: Account) -> str:
    body = _check(
        http.post("/v1/auth/login", json={"email": account.email, "password": account.password}), 200, "login"
    )
    token: str = body["access_token"]
    return token


async def make_pro(url: str, user_id: uuid.UUID) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            result = await connection.execute(update(User).where(User.id == user_id).values(tier="pro"))
            if result.rowcount != 1:
                raise SystemExit(f"user {user_id} not found in the database")
    finally:
        await engine.dispose()


def set_up(port: int, url: str, holdings: int) -> Account:
    """A pro user with one portfolio of ``holdings`` holdings, all made over HTTP but the tier."""
    account = Account(f"bench-{secrets.token_hex(4)}@example.com", f"Bench-{secrets.token_hex(8)}", uuid.uuid4())
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        registered = _check(
            http.post(
                "/v1/auth/register", json={"email": account.email, "password": account.password, "name": "Bench"}
            ),
            201,
            "register",
        )
        account.user_id = uuid.UUID(registered["user"]["id"])
        asyncio.run(make_pro(url, account.user_id))
        print(f"account: {account.email} set to pro in the database; waiting {USER_CACHE_WAIT_S:.0f} s for the cache")
        time.sleep(USER_CACHE_WAIT_S)
        auth = {"Authorization": f"Bearer {login(http, account)}"}
        me = _check(http.get("/v1/users/me", headers=auth), 200, "GET /v1/users/me")
        if me["tier"] != "pro":
            raise SystemExit(f"the account is still {me['tier']!r} after the update")

        stocks: list[dict[str, Any]] = []
        page = 1
        while len(stocks) < holdings:
            listed = _check(
                http.get(
                    "/v1/stocks",
                    params={"per_page": 100, "page": page, "sort_by": "market_cap", "order": "desc"},
                ),
                200,
                "GET /v1/stocks",
            )
            if not listed["stocks"]:
                raise SystemExit(f"only {len(stocks)} priced stocks in the dataset, {holdings} needed")
            stocks += [s for s in listed["stocks"] if s.get("latest_price")]
            page += 1
        stocks = stocks[:holdings]
        latest = max(dt.date.fromisoformat(s["latest_price"]["trade_date"]) for s in stocks)
        bought = latest - dt.timedelta(days=30)

        created = _check(
            http.post("/v1/portfolios", json={"name": f"bench {secrets.token_hex(3)}"}, headers=auth),
            201,
            "POST /v1/portfolios",
        )
        account.portfolio_id = created["id"]
        started = time.perf_counter()
        for number, stock in enumerate(stocks, start=1):
            detail = _check(http.get(f"/v1/stocks/{stock['code']}"), 200, f"GET /v1/stocks/{stock['code']}")
            listing = detail.get("listing_date")
            day = max(bought, dt.date.fromisoformat(listing)) if listing else bought
            response = http.post(
                f"/v1/portfolios/{account.portfolio_id}/holdings",
                json={
                    "stock_code": stock["code"],
                    "quantity": 10,
                    "avg_price": int(stock["latest_price"]["close_price"]),
                    "purchase_date": day.isoformat(),
                },
                headers=auth,
            )
            what = f"holding {number} ({stock['code']})"
            if number == FREE_HOLDINGS + 1:
                what += ": the pro tier did not apply (the free tier stops at 20 holdings)"
            _check(response, 201, what)
        print(
            f"portfolio {account.portfolio_id}: {holdings} holdings bought on {bought} or their listing date "
            f"({time.perf_counter() - started:.1f} s); the holding past the free tier's {FREE_HOLDINGS} was accepted"
        )
    return account


def check_detail(port: int, account: Account, holdings: int) -> str:
    """A fresh access token, once ``GET /v1/portfolios/{id}`` answers 200 with every holding."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        token = login(http, account)
        response = http.get(f"/v1/portfolios/{account.portfolio_id}", headers={"Authorization": f"Bearer {token}"})
        body = _check(response, 200, "GET /v1/portfolios/{id}")
        if len(body["holdings"]) != holdings or body["summary"]["holdings_count"] != holdings:
            raise SystemExit(f"the portfolio answers {len(body['holdings'])} holdings, {holdings} expected")
        print(
            f"GET /v1/portfolios/{{id}}: 200, {len(body['holdings'])} holdings, "
            f"{len(response.content) / 1024:.1f} KiB, {len(body['summary']['sector_allocation'])} sectors"
        )
    return token


async def measure(port: int, path: str, token: str, args: argparse.Namespace, label: str) -> list[LoadResult]:
    results = []
    for i in range(args.rounds):
        result = await run_load(
            "127.0.0.1",
            port,
            [path],
            label=f"{label} round {i + 1}",
            concurrency=args.concurrency,
            requests=args.requests,
            headers={"Authorization": f"Bearer {token}"},
        )
        print(f"  {result.line()}")
        if result.errors:
            raise SystemExit(f"{result.errors} requests of {result.label} did not answer 200")
        results.append(result)
    return results


def report(label: str, results: list[LoadResult]) -> None:
    # Single rounds on a shared VM are noisy: the verdict uses the median round by p99, as the latency benchmark.
    median = median_round(results)
    p99 = median.percentile(99)
    verdict = "met" if p99 < TARGET_P99_MS else f"MISSED by {p99 - TARGET_P99_MS:.1f} ms"
    print(
        f"{label}: median round p50={median.percentile(50):.2f} ms p90={median.percentile(90):.2f} ms "
        f"p99={p99:.2f} ms ({len(median.latencies_ms) / median.seconds:.0f} req/s, "
        f"{median.bytes_received / len(median.latencies_ms) / 1024:.1f} KiB)  target p99<{TARGET_P99_MS:.0f} ms: "
        f"{verdict}"
    )


@asynccontextmanager
async def app_client(url: str, secret: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this process, lifespan and all, and a client talking to it over ASGI."""
    settings = Settings(database_url=url, secret_key=SecretStr(secret), rate_limit_enabled=False, log_level="WARNING")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            yield client


async def in_process(client: httpx.AsyncClient, account: Account, token: str, count: int, profile: bool) -> None:
    """One request at a time through the ASGI app (no sockets, no other clients): the work a request costs,
    next to `GET /v1/stocks/005930` timed the same way."""
    headers = {"Authorization": f"Bearer {token}"}
    paths = {
        "GET /v1/portfolios/{id}": f"/v1/portfolios/{account.portfolio_id}",
        "GET /v1/stocks/005930": "/v1/stocks/005930",
    }
    timings: dict[str, list[float]] = {label: [] for label in paths}
    for i in range(200 + count):  # interleaved, the first 200 of each as warm-up
        for label, path in paths.items():
            started = time.perf_counter_ns()
            response = await client.get(path, headers=headers)
            elapsed = (time.perf_counter_ns() - started) / 1000
            if response.status_code != 200:
                raise SystemExit(f"in process {label}: {response.status_code} {response.text[:300]}")
            if i >= 200:
                timings[label].append(elapsed)
    print(f"\n-- in process, one request at a time ({count} each after 200 warm-ups, httpx's ASGI transport)")
    for label, values in timings.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
        print(f"  {label}: median {statistics.median(ordered):.0f} us, p99 {p99:.0f} us")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            await client.get(paths["GET /v1/portfolios/{id}"], headers=headers)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
        # Cumulative times of coroutines include the time they spent suspended; internal times are exact.
        print(f"\n-- cProfile of {count} portfolio requests\n{out.getvalue()}")


async def finish(url: str, secret: str, account: Account, token: str, args: argparse.Namespace) -> None:
    """The in-process figures, then the benchmark's portfolio deleted (unless --keep)."""
    async with app_client(url, secret) as client:
        if args.in_process:
            await in_process(client, account, token, args.in_process_requests, args.profile)
        if not args.keep:
            response = await client.delete(
                f"/v1/portfolios/{account.portfolio_id}", headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code != 204:
                print(f"warning: deleting the benchmark's portfolio answered {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--stocks", type=int, default=2_400)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--holdings", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server; the median round by p99 decides")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server worker counts to measure (default: 1 2)"
    )
    parser.add_argument(
        "--in-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time single requests through the app in this process",
    )
    parser.add_argument("--in-process-requests", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process portfolio requests")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's portfolio at the end")
    args = parser.parse_args()

    url = args.database_url or dataset_url(args.stocks, args.years)
    print(f"machine: {machine()}")
    print(
        f"database: {url.split('@')[-1]}  clients: {args.concurrency}  requests per round: {args.requests}  "
        f"holdings: {args.holdings}"
    )
    asyncio.run(ensure_dataset(Settings(database_url=url), args.stocks, args.years))

    # One key for every server and the in-process app, so a token signed by one is good for all.
    secret = secrets.token_urlsafe(48)
    env = {**LOAD_TEST_ENV, "KSTOCK_SECRET_KEY": secret}
    account: Account | None = None
    token = ""
    medians: list[tuple[str, list[LoadResult]]] = []
    for workers in args.workers:
        print(f"\n-- server workers: {workers}")
        with serving(url, env, workers) as port:
            if account is None:
                account = set_up(port, url, args.holdings)
            token = check_detail(port, account, args.holdings)
            label = (
                f"GET /v1/portfolios/{{id}} ({args.holdings} holdings, {workers} worker{'s' if workers > 1 else ''})"
            )
            rounds = run_client(measure(port, f"/v1/portfolios/{account.portfolio_id}", token, args, label))
            report(label, rounds)
            medians.append((label, rounds))
    assert account is not None  # noqa: S101 - at least one worker count was measured

    asyncio.run(finish(url, secret, account, token, args))

    print("\nsummary (median round by p99 of each server):")
    for label, rounds in medians:
        report(label, rounds)


if __name__ == "__main__":
    main()
