"""Paper trading under load: order preview and execute over HTTP, and the matching engine's fills per second.

    .venv/bin/python -m bench.bench_trading [--requests 1000] [--concurrency 16] [--accounts 16] [--rounds 3]
        [--workers 1 2] [--order-type limit|market] [--redis-url redis://127.0.0.1:6379/0]
        [--fill-orders 1000] [--fill-accounts 20] [--fill-stocks 200] [--fill-rounds 3] [--idle-steps 200]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/kstock_bench_trading] [--years 10]
        [--no-http] [--no-in-process] [--in-process-requests 300] [--no-engine]

The dataset is the latency benchmark's demo market (--years 10 on SQLite, made once under bench/results/;
`--database-url` takes an existing database and loads the demo market into it on the first run).

The market: API instances price orders against the feed's retained broker messages. The script publishes them
itself into Redis under a prefix of its own (`feed.status` in continuous trading, and for every listed stock its
`orderbook:{code}`, ten levels a side around the last stored close, and `price:{code}` at that close), at the
market time the simulator's demo clock would start from (10:00 KST on the trading day after the newest stored
bar). So the book is still while it measures and no simulator shares the two cores. The servers are `kstock
serve` with that Redis (as in production: quotes, token revocation and events go through it); request limits are
off as in the other load tests (`KSTOCK_RATE_LIMIT_ENABLED=false`), authentication, audit and metrics on, and
previews live 300 s (`KSTOCK_TRADING_PREVIEW_TTL_S`) so the previews made before an execute round cannot expire.

One user is registered and set to pro in the database (50 accounts; free users get 2), with --accounts accounts
for HTTP and --fill-accounts for the engine, each with 10^12 KRW and its risk limits raised by `PUT
/v1/trading/accounts/{id}/config/risk` (`max_orders_per_second` 100, the most allowed: the default 1 would reject
most orders; position weight 100%; order value 10^10).

1. Preview: `POST /v1/trading/accounts/{id}/orders/preview` at --concurrency clients (`bench/loadgen.py`), the
   requests cycling over the accounts and the 100 largest stocks by market cap; by default a day limit buy of 10
   shares 10% under the last price, which would rest (`--order-type market`: a market buy of 10 shares, filled at
   the best ask). A preview writes nothing (its id is a signed token): every order the rounds send is previewed
   once before timing and must pass.
2. Execute: before each round, one fresh preview per request (made over HTTP, 8 at a time, not timed); then
   `POST .../orders/execute` with `{"preview_id": ...}`, each request its own preview. The load generator counts
   any status but 200 as an error and an execute answers 201, so the script checks instead that the round wrote
   one order per request (a rejected or expired preview writes none) and stops otherwise.
3. In process, one request at a time (httpx's ASGI transport, after the servers have stopped): a preview then
   an execute of it, timed each, so the work a request costs without queueing.
4. Matching engine, in this process: `kstock.trading.engine.TradingEngine` over the same database and Redis, as
   the feed process runs it. Each round places --fill-orders resting day limit buys through the API (in process,
   one after the other, not timed), round-robin over --fill-accounts accounts and the --fill-stocks largest
   stocks; reloads the engine's open orders (timed on its own); drives `on_step` --idle-steps times with one print
   per listed stock at its last close, which crosses no order (the matching overhead alone: the engine's own
   reload falls due every 250 ms of wall time, so few of these steps include one); then one step whose prints
   cross every order (one print per stock, at the orders' limit, large enough to fill them all, dated on the
   orders' trade date as read back from the engine's order rows) and times it. Each account's fills of a step are
   one transaction: the account's lock, its orders of the step and its positions read once, every fill's record,
   position, order and cash written in one flush, then its revaluation and an equity point. The script checks
   that the step wrote one fill per order and left none open.

Accounts are deleted at the end (with their orders, fills and previews), and the Redis keys under the prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select

from bench.bench_api_latency import dataset_url, ensure_dataset
from bench.bench_portfolio import make_pro
from bench.loadgen import LoadResult, machine, median_round, percentile, run_client, run_load
from bench.server import LOAD_TEST_ENV, Server, server_process
from kstock.app import create_app
from kstock.broker import create_broker
from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.feed import store
from kstock.feed.payloads import orderbook_data, price_data
from kstock.kit.calendar import Phase, next_trading_day, session_time, today_kst
from kstock.kit.krx import price_limits, round_down_to_tick, round_up_to_tick
from kstock.sources import OrderBook, Step, Trade
from kstock.state import state_of_app
from kstock.trading.engine import TradingEngine
from kstock.trading.models import TradingFill, TradingOrder

STARTING_CASH = 10**12
RISK_LIMITS = {"max_orders_per_second": 100, "max_position_weight_pct": 100.0, "max_order_value": 10**10}
QUANTITY = 10
HTTP_STOCKS = 100
BOOK_LEVELS = 10
LEVEL_VOLUME = 10_000
PREVIEW_TTL_S = 300
PREVIEW_MAKERS = 8  # concurrent clients making the execute rounds' previews
WARM_UP = 50  # requests before the timed ones of the in-process case
LOAD_WARM_UP = 200  # the load generator's untimed requests before each round's
MAX_ACCOUNTS = 50  # QUOTAS["trading_accounts"] for the pro tier


@dataclass(frozen=True)
class Stock:
    code: str
    market: str
    close: int  # the last stored close: the base price and the last price of the published market
    limit: int  # a resting buy's limit: 10% under the close, on the tick grid


@dataclass(frozen=True)
class Market:
    stocks: list[Stock]  # every listed stock, the largest by market cap first
    at: dt.datetime  # the published market time (KST), in continuous trading


@dataclass
class User:
    email: str
    password: str
    user_id: uuid.UUID
    http_accounts: list[str] = dataclasses.field(default_factory=list)
    fill_accounts: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class FillRound:
    orders: int  # the benchmark's open orders the engine loaded
    open_orders: int  # every open order the engine loaded
    reload_ms: float
    idle_ms: list[float]  # one per no-cross step
    idle_reloads: int
    fills: int
    transactions: int
    fill_s: float


def _check(response: httpx.Response, expected: int, what: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise SystemExit(f"{what}: expected {expected}, got {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


# -- the market --------------------------------------------------------------------------------------------------


def resting_limit(close: int, market: str) -> int:
    """A buy limit 10% under ``close`` on the tick grid, inside the daily band."""
    lower = price_limits(close, market)[0]
    return max(lower, round_down_to_tick(close * 9 // 10))


async def load_market(url: str) -> Market:
    engine = create_engine(Settings(database_url=url))
    try:
        instruments, last_day = await store.instruments(engine)
    finally:
        await engine.dispose()
    if not instruments:
        raise SystemExit("no listed stock with a stored close in the database")
    by_cap = sorted(instruments, key=lambda i: (-(i.shares_outstanding or 0) * i.previous_close, i.code))
    stocks = [Stock(i.code, i.market, i.previous_close, resting_limit(i.previous_close, i.market)) for i in by_cap]
    day = next_trading_day(last_day or today_kst())
    return Market(stocks, session_time(day, dt.time(10, 0)))


def _book(stock: Stock, at: dt.datetime) -> OrderBook:
    asks, bids = [], []
    ask = round_up_to_tick(stock.close + 1)
    bid = round_down_to_tick(stock.close - 1)
    for _ in range(BOOK_LEVELS):
        asks.append((ask, LEVEL_VOLUME))
        bids.append((bid, LEVEL_VOLUME))
        ask = round_up_to_tick(ask + 1)
        bid = round_down_to_tick(bid - 1)
    return OrderBook(stock.code, tuple(asks), tuple(bids), at, Phase.CONTINUOUS)


def _print(stock: Stock, price: int, quantity: int, at: dt.datetime) -> Trade:
    change = price - stock.close
    return Trade(
        stock.code,
        price,
        quantity,
        quantity,
        price * quantity,
        change,
        round(100 * change / stock.close, 2),
        at,
        Phase.CONTINUOUS,
    )


async def publish_market(redis_url: str, prefix: str, market: Market) -> None:
    """What the feed retains: its status (continuous trading), and each stock's book and last print."""
    broker = create_broker(redis_url, prefix=prefix)
    await broker.start()
    try:
        status = {"source": "bench", "phase": Phase.CONTINUOUS.value, "market_time": market.at.isoformat(), "speed": 1}
        messages = [("feed.status", orjson.dumps(status))]
        for stock in market.stocks:
            messages.append((f"orderbook:{stock.code}", orderbook_data(_book(stock, market.at))))
            messages.append((f"price:{stock.code}", price_data(_print(stock, stock.close, 1, market.at))))
        await broker.publish_many(messages, retain=True)
    finally:
        await broker.close()


async def clear_redis(redis_url: str, prefix: str) -> int:
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1_000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def order_body(stock: Stock, order_type: str) -> dict[str, Any]:
    body: dict[str, Any] = {"stock_code": stock.code, "side": "buy", "order_type": order_type, "quantity": QUANTITY}
    if order_type == "limit":
        body.update(limit_price=stock.limit, time_in_force="day")
    return body


# -- the app in this process -------------------------------------------------------------------------------------


def app_settings(url: str, secret: str, redis_url: str, prefix: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SecretStr(secret),
        redis_url=redis_url,
        redis_prefix=prefix,
        rate_limit_enabled=False,
        log_level="WARNING",
        trading_preview_ttl_s=PREVIEW_TTL_S,
    )


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app in this process, lifespan and all, and a client talking to it over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
        ) as client:
            yield app, client


async def login(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    response = await client.post("/v1/auth/login", json={"email": user.email, "password": user.password})
    return {"Authorization": f"Bearer {_check(response, 200, 'login')['access_token']}"}


async def new_accounts(client: httpx.AsyncClient, auth: dict[str, str], count: int, label: str) -> list[str]:
    ids = []
    for number in range(count):
        created = _check(
            await client.post(
                "/v1/trading/accounts",
                json={"name": f"bench {label} {number} {secrets.token_hex(3)}", "starting_cash": STARTING_CASH},
                headers=auth,
            ),
            201,
            f"POST /v1/trading/accounts ({label} {number + 1} of {count})",
        )
        ids.append(created["id"])
        _check(
            await client.put(f"/v1/trading/accounts/{created['id']}/config/risk", json=RISK_LIMITS, headers=auth),
            200,
            "PUT /v1/trading/accounts/{id}/config/risk",
        )
    return ids


async def set_up(settings: Settings, args: argparse.Namespace) -> User:
    """A pro user with its accounts, all made over HTTP (in process) but the tier."""
    user = User(f"bench-{secrets.token_hex(4)}@example.com", f"Bench-{secrets.token_hex(8)}", uuid.uuid4())
    async with app_client(settings) as (_, client):
        registered = _check(
            await client.post(
                "/v1/auth/register", json={"email": user.email, "password": user.password, "name": "Bench"}
            ),
            201,
            "register",
        )
        user.user_id = uuid.UUID(registered["user"]["id"])
    await make_pro(settings.database_url, user.user_id)
    # A new app: no cached user record from before the upgrade (the servers start after it, so theirs are fresh).
    async with app_client(settings) as (_, client):
        auth = await login(client, user)
        me = _check(await client.get("/v1/users/me", headers=auth), 200, "GET /v1/users/me")
        if me["tier"] != "pro":
            raise SystemExit(f"the user is still {me['tier']!r} after the update")
        if args.http or args.in_process:
            user.http_accounts = await new_accounts(client, auth, args.accounts, "http")
        if args.engine:
            user.fill_accounts = await new_accounts(client, auth, args.fill_accounts, "engine")
    print(
        f"user {user.email} (pro): {len(user.http_accounts)} accounts for HTTP, {len(user.fill_accounts)} for the "
        f"engine, {STARTING_CASH:,} KRW each, risk limits {RISK_LIMITS}"
    )
    return user


async def delete_accounts(settings: Settings, user: User, ids: Sequence[str]) -> None:
    async with app_client(settings) as (_, client):
        auth = await login(client, user)
        for account_id in ids:
            response = await client.delete(f"/v1/trading/accounts/{account_id}", headers=auth)
            if response.status_code != 204:
                print(f"warning: deleting account {account_id} answered {response.status_code}")


async def count_rows(url: str, model: Any, account_ids: Sequence[str]) -> int:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            ids = [uuid.UUID(a) for a in account_ids]
            statement = select(func.count()).select_from(model).where(model.account_id.in_(ids))
            return int((await connection.execute(statement)).scalar_one())
    finally:
        await engine.dispose()


# -- HTTP --------------------------------------------------------------------------------------------------------


def login_sync(port: int, user: User) -> dict[str, str]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        response = http.post("/v1/auth/login", json={"email": user.email, "password": user.password})
        return {"Authorization": f"Bearer {_check(response, 200, 'login')['access_token']}"}


def check_order_path(port: int, auth: dict[str, str], account_id: str, stock: Stock, order_type: str) -> None:
    """One preview and its execute answer as the benchmark expects (the book is the published one)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=auth) as http:
        base = f"/v1/trading/accounts/{account_id}/orders"
        body = _check(http.post(f"{base}/preview", json=order_body(stock, order_type)), 200, "preview")
        if not body["passed"] or not body["market"]["feed"] or body["market"]["phase"] != "continuous":
            raise SystemExit(f"the preview did not pass against the published market: {body}")
        estimate = body["estimate"]
        order = _check(http.post(f"{base}/execute", json={"preview_id": body["preview_id"]}), 201, "execute")
        expected = "open" if order_type == "limit" else "filled"
        if order["status"] != expected:
            raise SystemExit(f"the {order_type} order is {order['status']!r}, {expected!r} expected: {order}")
        print(
            f"preview and execute of a {order_type} buy of {stock.code}: {estimate['filled_quantity']} filled now, "
            f"{estimate['resting_quantity']} resting, reserved {estimate['reserved_cash']:,} KRW; order "
            f"{order['status']} on trade date {order['trade_date']}"
        )


async def make_previews(port: int, auth: dict[str, str], jobs: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """A preview id for each (account, order) of ``jobs``, in order."""
    gate = asyncio.Semaphore(PREVIEW_MAKERS)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=auth) as http:

        async def one(account_id: str, body: dict[str, Any]) -> str:
            async with gate:
                response = await http.post(f"/v1/trading/accounts/{account_id}/orders/preview", json=body)
            answer = _check(response, 200, "preview for an execute round")
            if not answer["passed"]:
                raise SystemExit(f"a preview for an execute round did not pass: {answer['checks']}")
            preview_id: str = answer["preview_id"]
            return preview_id

        return list(await asyncio.gather(*(one(a, b) for a, b in jobs)))


def _cpu_seconds(server: Server) -> float | None:
    """The server's CPU time; a few tries, as a reading fails when one of its threads exits during it (the
    SQLite driver runs a thread per connection)."""
    for _ in range(5):
        seconds = server.cpu_seconds()
        if seconds is not None:
            return seconds
    return None


def _cpu(server: Server, before: float | None, requests: int) -> float | None:
    after = _cpu_seconds(server)
    return None if before is None or after is None else (after - before) / requests * 1e6


async def preview_rounds(
    server: Server, url: str, auth: dict[str, str], user: User, stocks: Sequence[Stock], args: argparse.Namespace
) -> list[LoadResult]:
    paths = [f"/v1/trading/accounts/{a}/orders/preview" for a in user.http_accounts]
    bodies = [orjson.dumps(order_body(s, args.order_type)) for s in stocks]
    # A preview writes nothing: check once, before timing, that every order the rounds send passes its checks.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", headers=auth, timeout=30) as http:
        for body in bodies:
            answer = (await http.post(paths[0], content=body, headers={"Content-Type": "application/json"})).json()
            if not answer.get("passed"):
                raise SystemExit(f"a benchmark order fails its checks: {answer}")
    results = []
    for i in range(args.rounds):
        cpu = _cpu_seconds(server)
        result = await run_load(
            "127.0.0.1",
            server.port,
            paths,
            label=f"preview round {i + 1}",
            concurrency=args.concurrency,
            requests=args.requests,
            warmup=LOAD_WARM_UP,
            headers=auth,
            method="POST",
            bodies=bodies,
        )
        result.server_cpu_us = _cpu(server, cpu, args.requests + LOAD_WARM_UP)
        print(f"  {result.line()}")
        if result.errors:
            raise SystemExit(f"{result.label}: {result.errors} answers not 200")
        results.append(result)
    return results


async def execute_rounds(
    server: Server, url: str, auth: dict[str, str], user: User, stocks: Sequence[Stock], args: argparse.Namespace
) -> list[LoadResult]:
    results = []
    total = args.requests + LOAD_WARM_UP
    for i in range(args.rounds):
        jobs = [
            (user.http_accounts[n % len(user.http_accounts)], order_body(stocks[n % len(stocks)], args.order_type))
            for n in range(total)
        ]
        started = time.perf_counter()
        preview_ids = await make_previews(server.port, auth, jobs)
        made_s = time.perf_counter() - started
        orders = await count_rows(url, TradingOrder, user.http_accounts)
        cpu = _cpu_seconds(server)
        result = await run_load(
            "127.0.0.1",
            server.port,
            [f"/v1/trading/accounts/{account_id}/orders/execute" for account_id, _ in jobs],
            label=f"execute round {i + 1}",
            concurrency=args.concurrency,
            requests=args.requests,
            warmup=LOAD_WARM_UP,
            headers=auth,
            method="POST",
            bodies=[orjson.dumps({"preview_id": p}) for p in preview_ids],
        )
        cpu_us = _cpu(server, cpu, total)
        written = await count_rows(url, TradingOrder, user.http_accounts) - orders
        if written != total:
            raise SystemExit(f"{result.label}: {written} orders written for {total} executes")
        # Every execute wrote its order (201): the load generator's count of answers other than 200 is moot.
        result = dataclasses.replace(result, errors=0, server_cpu_us=cpu_us)
        print(f"  {result.line()}  ({total} previews made first in {made_s:.1f} s; {written} orders written)")
        results.append(result)
    return results


def summary_line(label: str, results: list[LoadResult]) -> str:
    median = median_round(results)
    cpu = f", server CPU {median.server_cpu_us:.0f} us/req" if median.server_cpu_us is not None else ""
    return (
        f"{label}: median round p50={median.percentile(50):.2f} ms p90={median.percentile(90):.2f} ms "
        f"p99={median.percentile(99):.2f} ms ({len(median.latencies_ms) / median.seconds:.0f} req/s{cpu})"
    )


def http_phase(
    url: str, env: dict[str, str], user: User, market: Market, args: argparse.Namespace
) -> list[tuple[str, list[LoadResult]]]:
    stocks = market.stocks[:HTTP_STOCKS]
    summaries = []
    for workers in args.workers:
        print(f"\n-- server workers: {workers}")
        with server_process(url, env, workers) as server:
            auth = login_sync(server.port, user)
            check_order_path(server.port, auth, user.http_accounts[0], stocks[0], args.order_type)
            what = (
                f"{args.order_type} buy, {len(user.http_accounts)} accounts, {args.concurrency} clients, "
                f"{workers} worker{'s' if workers > 1 else ''}"
            )
            label = f"POST .../orders/preview ({what})"
            rounds = run_client(preview_rounds(server, url, auth, user, stocks, args))
            print(summary_line(label, rounds))
            summaries.append((label, rounds))
            label = f"POST .../orders/execute ({what})"
            rounds = run_client(execute_rounds(server, url, auth, user, stocks, args))
            print(summary_line(label, rounds))
            summaries.append((label, rounds))
    return summaries


async def one_at_a_time(settings: Settings, user: User, market: Market, args: argparse.Namespace) -> list[str]:
    """Preview and execute one request at a time in this process (httpx's ASGI transport, no sockets and no other
    clients): the work each costs, without queueing. Each execute has its own preview, made just before it."""
    stocks = market.stocks[:HTTP_STOCKS]
    base = f"/v1/trading/accounts/{user.http_accounts[0]}/orders"
    timings: dict[str, list[float]] = {"preview": [], "execute": []}
    async with app_client(settings) as (_, client):
        auth = await login(client, user)
        for n in range(WARM_UP + args.in_process_requests):
            started = time.perf_counter()
            response = await client.post(
                f"{base}/preview", json=order_body(stocks[n % len(stocks)], args.order_type), headers=auth
            )
            previewed = time.perf_counter()
            preview = _check(response, 200, "preview in process")
            if not preview["passed"]:
                raise SystemExit(f"a preview in process did not pass: {preview['checks']}")
            executing = time.perf_counter()
            response = await client.post(f"{base}/execute", json={"preview_id": preview["preview_id"]}, headers=auth)
            executed = time.perf_counter()
            _check(response, 201, "execute in process")
            if n >= WARM_UP:
                timings["preview"].append((previewed - started) * 1000)
                timings["execute"].append((executed - executing) * 1000)
    lines = [
        f"in process, one at a time ({args.in_process_requests} each after {WARM_UP} warm-ups): {what} "
        f"median {statistics.median(values):.2f} ms, p99 {percentile(values, 99):.2f} ms"
        for what, values in timings.items()
    ]
    print()
    for line in lines:
        print(line)
    return lines


# -- the matching engine -----------------------------------------------------------------------------------------


async def place_orders(
    client: httpx.AsyncClient, auth: dict[str, str], jobs: Sequence[tuple[str, Stock]]
) -> list[dict[str, Any]]:
    """Resting day limit buys through the API (preview, then execute), one after the other: on SQLite, concurrent
    writers only wait for each other's lock."""
    placed = []
    for account_id, stock in jobs:
        base = f"/v1/trading/accounts/{account_id}/orders"
        response = await client.post(f"{base}/preview", json=order_body(stock, "limit"), headers=auth)
        preview = _check(response, 200, "preview for an engine round")
        if not preview["passed"]:
            raise SystemExit(f"an engine round's preview did not pass: {preview['checks']}")
        response = await client.post(f"{base}/execute", json={"preview_id": preview["preview_id"]}, headers=auth)
        order = _check(response, 201, "execute for an engine round")
        if order["status"] != "open":
            raise SystemExit(f"an engine round's order is {order['status']!r}, not resting: {order}")
        placed.append(order)
    return placed


def _tape(stocks: Sequence[Stock], prices: dict[str, int], quantity: int, at: dt.datetime) -> list[Trade]:
    """One print per listed stock: at ``prices[code]`` when given, else at its close."""
    return [_print(s, prices.get(s.code, s.close), quantity, at) for s in stocks]


def _step(trades: list[Trade], at: dt.datetime) -> Step:
    return Step(
        trades=trades, books=[], minute_bars=[], daily_bars=[], phase=Phase.CONTINUOUS, now=at, day_started=None
    )


async def fill_round(
    number: int,
    app: FastAPI,
    client: httpx.AsyncClient,
    engine: TradingEngine,
    user: User,
    market: Market,
    args: argparse.Namespace,
) -> FillRound:
    auth = await login(client, user)
    stocks = market.stocks[: args.fill_stocks]
    accounts = user.fill_accounts
    jobs = [(accounts[n % len(accounts)], stocks[n % len(stocks)]) for n in range(args.fill_orders)]
    started = time.perf_counter()
    placed = await place_orders(client, auth, jobs)
    placed_s = time.perf_counter() - started

    started = time.perf_counter()
    await engine.reload()
    reload_ms = (time.perf_counter() - started) * 1000
    open_orders = engine.stats.open_orders
    ids = {uuid.UUID(o["id"]) for o in placed}
    mine = [r for resting in engine.resting.values() for r in resting if r.id in ids]
    if len(mine) != len(placed):
        raise SystemExit(f"the engine loaded {len(mine)} of the round's {len(placed)} open orders")
    days = {r.trade_date for r in mine}  # the order rows' trade date: a print fills only on it
    if len(days) != 1:
        raise SystemExit(f"the round's orders have {len(days)} trade dates: {sorted(days)}")
    (day,) = days
    opening = session_time(day, dt.time(10, 0)) + dt.timedelta(minutes=number)
    print(
        f"  round {number}: {len(placed)} orders placed in {placed_s:.1f} s over the API; engine reload "
        f"{reload_ms:.1f} ms ({open_orders} open orders in all), trade date {day}"
    )

    # Prints at the close: every order is 10% under it, so nothing crosses; the time priority walk still runs.
    idle_ms = []
    stats = engine.stats
    reloads, fills_before, errors_before = stats.reloads, stats.fills, stats.errors
    for i in range(args.idle_steps):
        at = opening + dt.timedelta(milliseconds=50 * i)
        step = _step(_tape(market.stocks, {}, 100, at), at)
        started = time.perf_counter()
        await engine.on_step(step)
        idle_ms.append((time.perf_counter() - started) * 1000)
    if stats.fills != fills_before or stats.errors != errors_before:
        raise SystemExit(
            f"the no-cross steps wrote {stats.fills - fills_before} fills, {stats.errors - errors_before} errors"
        )
    idle_reloads = stats.reloads - reloads

    # One print per stock crossing every order of it, large enough to fill them all.
    at = opening + dt.timedelta(seconds=30)
    crossing = {s.code: s.limit for s in stocks}
    step = _step(_tape(market.stocks, crossing, QUANTITY * len(placed), at), at)
    fills_before, transactions_before = stats.fills, stats.fill_transactions
    before = await count_rows(state_of_app(app).settings.database_url, TradingFill, accounts)
    await engine.reload()
    started = time.perf_counter()
    await engine.on_step(step)
    fill_s = time.perf_counter() - started
    fills = stats.fills - fills_before
    transactions = stats.fill_transactions - transactions_before
    if stats.errors != errors_before:
        raise SystemExit(f"the crossing step failed {stats.errors - errors_before} transactions")
    written = await count_rows(state_of_app(app).settings.database_url, TradingFill, accounts) - before
    left = sum(1 for resting in engine.resting.values() for r in resting if r.id in ids)
    if fills != len(placed) or written != len(placed) or left:
        raise SystemExit(
            f"the crossing step reported {fills} fills and wrote {written} for {len(placed)} orders; {left} left open"
        )
    return FillRound(len(mine), open_orders, reload_ms, idle_ms, idle_reloads, fills, transactions, fill_s)


async def engine_phase(settings: Settings, user: User, market: Market, args: argparse.Namespace) -> list[FillRound]:
    results = []
    async with app_client(settings) as (app, client):
        engine = TradingEngine(state_of_app(app).sessionmaker, state_of_app(app).broker, settings)
        print(
            f"\n-- matching engine in process: {args.fill_orders} resting limit buys over {len(user.fill_accounts)} "
            f"accounts and {args.fill_stocks} stocks; {len(market.stocks)} prints a step"
        )
        for number in range(1, args.fill_rounds + 1):
            result = await fill_round(number, app, client, engine, user, market, args)
            idle = result.idle_ms
            print(
                f"  round {number}: no-cross steps: p50={statistics.median(idle):.2f} ms "
                f"p99={percentile(idle, 99):.2f} ms max={max(idle):.2f} ms, {len(idle) / (sum(idle) / 1000):.0f} "
                f"steps/s ({result.idle_reloads} reloads); crossing step: {result.fills} fills in "
                f"{result.transactions} transactions, {result.fill_s:.3f} s = {result.fills / result.fill_s:.0f} "
                f"fills/s ({result.fill_s / result.fills * 1000:.2f} ms a fill)"
            )
            results.append(result)
    return results


def engine_summary(results: list[FillRound]) -> list[str]:
    rates = sorted(r.fills / r.fill_s for r in results)
    idle = [ms for r in results for ms in r.idle_ms]
    steps = len(idle) / (sum(idle) / 1000)
    first = results[0]
    return [
        f"engine: fills/s with {first.orders} open orders crossed in one step ({first.transactions} transactions): "
        f"median {statistics.median(rates):.0f} (rounds {', '.join(f'{r:.0f}' for r in rates)})",
        f"engine: no-cross steps with {first.orders} open orders: p50={statistics.median(idle):.2f} ms "
        f"p99={percentile(idle, 99):.2f} ms, {steps:.0f} steps/s over {len(idle)} steps; reload of the open orders "
        f"median {statistics.median(r.reload_ms for r in results):.1f} ms",
    ]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other processes on the two cores show in them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# -- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--stocks", type=int, default=2_400)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--requests", type=int, default=1_000, help="timed requests per round (after 200 warm-ups)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=16, help="accounts the HTTP requests cycle over")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case; the median round by p99 is reported")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server worker counts (default: 1 2)")
    parser.add_argument("--order-type", choices=["limit", "market"], default="limit")
    parser.add_argument("--fill-orders", type=int, default=1_000)
    parser.add_argument("--fill-accounts", type=int, default=20)
    parser.add_argument("--fill-stocks", type=int, default=200)
    parser.add_argument("--fill-rounds", type=int, default=3)
    parser.add_argument("--idle-steps", type=int, default=200, help="no-cross steps per engine round")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True, help="the HTTP cases")
    parser.add_argument(
        "--in-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time single previews and executes through the app in this process",
    )
    parser.add_argument("--in-process-requests", type=int, default=300)
    parser.add_argument("--engine", action=argparse.BooleanOptionalAction, default=True, help="the engine case")
    args = parser.parse_args()
    if (args.http or args.in_process) * args.accounts + args.engine * args.fill_accounts > MAX_ACCOUNTS:
        parser.error(f"a pro user has at most {MAX_ACCOUNTS} accounts: --accounts plus --fill-accounts")

    url = args.database_url or dataset_url(args.stocks, args.years)
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()}")
    print(f"database: {url.split('@')[-1]}  redis: {args.redis_url.split('@')[-1]}")
    asyncio.run(ensure_dataset(Settings(database_url=url), args.stocks, args.years))

    market = asyncio.run(load_market(url))
    prefix = f"kstock-bench-trading-{secrets.token_hex(4)}:"
    asyncio.run(publish_market(args.redis_url, prefix, market))
    print(
        f"market: {len(market.stocks)} stocks published under Redis prefix {prefix!r}, continuous trading at "
        f"{market.at.isoformat()}; books of {BOOK_LEVELS} levels of {LEVEL_VOLUME:,} shares a side around the close"
    )
    # One key for every server and the in-process app, so a token signed by one is good for all.
    secret = secrets.token_urlsafe(48)
    settings = app_settings(url, secret, args.redis_url, prefix)
    env = {
        **LOAD_TEST_ENV,
        "KSTOCK_SECRET_KEY": secret,
        "KSTOCK_REDIS_URL": args.redis_url,
        "KSTOCK_REDIS_PREFIX": prefix,
        "KSTOCK_TRADING_PREVIEW_TTL_S": str(PREVIEW_TTL_S),
    }
    user: User | None = None
    summaries: list[tuple[str, list[LoadResult]]] = []
    engine_results: list[FillRound] = []
    single: list[str] = []
    try:
        user = asyncio.run(set_up(settings, args))
        if args.http:
            summaries = http_phase(url, env, user, market, args)
        if args.in_process:
            single = asyncio.run(one_at_a_time(settings, user, market, args))
        # Their resting orders would be the engine's too.
        asyncio.run(delete_accounts(settings, user, user.http_accounts))
        user.http_accounts = []
        if args.engine:
            engine_results = asyncio.run(engine_phase(settings, user, market, args))
    finally:
        if user is not None:
            asyncio.run(delete_accounts(settings, user, user.http_accounts + user.fill_accounts))
        asyncio.run(clear_redis(args.redis_url, prefix))

    print(f"\nload average at the end: {load_average()}")
    print("summary" + (" (HTTP: the median round by p99 of each server):" if summaries else ":"))
    for label, rounds in summaries:
        print(summary_line(label, rounds))
    for line in single:
        print(line)
    if engine_results:
        for line in engine_summary(engine_results):
            print(line)


if __name__ == "__main__":
    main()
