"""Request rate limits: headers, the 429, windows, tiers, API keys, anonymous IPs, endpoint classes, Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.gateway import limitstore
from kstock.identity.principal import Tier
from tests.gateway.helpers import engine_url, fresh_window, gateway_settings, metric, running_app, window_reset
from tests.support.accounts import make_api_key, make_user
from tests.support.app import app_state, http_client
from tests.support.databases import DatabaseFactory, is_postgres
from tests.support.logs import LogRecorder
from tests.support.redis import redis_server

HOUR = 3600


def reset_delta(response: httpx.Response) -> int:
    fields = dict(part.strip().split("=") for part in response.headers["ratelimit"].split(","))
    return int(fields["reset"])


def reset_epoch(response: httpx.Response) -> float:
    """``X-RateLimit-Reset`` (an ISO 8601 UTC time to the second) as epoch seconds."""
    value = response.headers["x-ratelimit-reset"]
    assert value.endswith("Z")
    return dt.datetime.fromisoformat(value).timestamp()


def assert_limit_headers(response: httpx.Response, limit: int, remaining: int, reset: int, policy: str) -> None:
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == str(remaining)
    assert response.headers["x-ratelimit-reset"] == dt.datetime.fromtimestamp(reset, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    delta = reset_delta(response)
    assert response.headers["ratelimit"] == f"limit={limit}, remaining={remaining}, reset={delta}"
    assert abs(delta - (reset - time.time())) <= 1.5
    assert response.headers["ratelimit-policy"] == policy


async def test_headers_count_down_then_429_in_the_error_format(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="3/hour")
    await fresh_window(HOUR, 10)
    reset = window_reset(HOUR)
    async with running_app(settings) as app, http_client(app) as http:
        for remaining in (2, 1, 0):
            response = await http.get("/v1/test/echo")
            assert response.status_code == 200
            assert_limit_headers(response, 3, remaining, reset, "3;w=3600")

        refused = await http.get("/v1/test/echo")

    assert refused.status_code == 429
    assert_limit_headers(refused, 3, 0, reset, "3;w=3600")
    retry_after = int(refused.headers["retry-after"])
    assert retry_after == max(1, reset_delta(refused))
    assert 1 <= retry_after <= HOUR
    body = refused.json()
    assert set(body) == {"error", "message", "details", "timestamp", "path", "request_id"}
    assert body["error"] == "RATE_LIMIT_EXCEEDED"
    assert body["path"] == "/v1/test/echo"
    assert body["request_id"] == refused.headers["x-request-id"]
    reset_at = dt.datetime.fromtimestamp(reset, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["details"] == {"limit": 3, "remaining": 0, "reset_at": reset_at, "policy": "anonymous"}
    assert "3 requests per 3600 seconds" in body["message"]


async def test_counter_resets_after_the_window(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="3/second")
    async with running_app(settings) as app, http_client(app) as http:
        await fresh_window(1, 0.6)
        statuses = [(await http.get("/v1/test/echo")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await http.get("/v1/test/echo")
        await asyncio.sleep(max(0.0, reset_epoch(refused) - time.time()) + 0.05)

        again = await http.get("/v1/test/echo")

    assert again.status_code == 200
    assert again.headers["x-ratelimit-remaining"] == "2"
    assert reset_epoch(again) == reset_epoch(refused) + 1


async def test_each_tier_gets_its_own_limit(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(
        db_factory,
        engine_url(clean_engine),
        rate_limit_free="2/hour",
        rate_limit_basic="3/hour",
        rate_limit_pro="5/hour",
    )
    await fresh_window(HOUR, 10)
    async with running_app(settings) as app, http_client(app) as http:
        for tier, limit in ((Tier.FREE, 2), (Tier.BASIC, 3), (Tier.PRO, 5)):
            account = await make_user(settings, clean_engine, tier)
            responses = [await http.get("/v1/test/echo", headers=account.bearer) for _ in range(limit + 1)]
            assert [r.status_code for r in responses] == [200] * limit + [429], tier
            assert [r.headers["x-ratelimit-remaining"] for r in responses] == [
                *(str(n) for n in range(limit - 1, -1, -1)),
                "0",
            ]
            assert {r.headers["x-ratelimit-limit"] for r in responses} == {str(limit)}
            details = responses[-1].json()["details"]
            assert details["policy"] == "tier"
            if tier is Tier.PRO:
                assert "upgrade_url" not in details
            else:
                assert details["upgrade_url"] == settings.upgrade_url


async def test_every_key_and_token_of_a_user_share_one_budget(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    # More keys must not mean more requests: the tier's budget is the user's (Redis counters in the PostgreSQL pass).
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_free="3/hour")
    await fresh_window(HOUR, 10)
    async with running_app(settings) as app, http_client(app) as http:
        account = await make_user(settings, clean_engine, Tier.FREE)
        other = await make_user(settings, clean_engine, Tier.FREE)
        first, _ = await make_api_key(clean_engine, account.user_id)
        second, _ = await make_api_key(clean_engine, account.user_id)
        used = [await http.get("/v1/test/echo", headers={"X-API-Key": first}) for _ in range(2)]
        last = await http.get("/v1/test/echo", headers={"X-API-Key": second})
        refused = [
            await http.get("/v1/test/echo", headers={"X-API-Key": second}),
            await http.get("/v1/test/echo", headers={"X-API-Key": first}),
            await http.get("/v1/test/echo", headers=account.bearer),
        ]
        someone_else = await http.get("/v1/test/echo", headers=other.bearer)

    assert [r.status_code for r in used] == [200, 200]
    assert last.status_code == 200
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert [r.status_code for r in refused] == [429, 429, 429]
    assert refused[0].json()["details"]["policy"] == "tier"
    assert someone_else.status_code == 200  # another user's budget is their own


async def test_bursts_are_counted_per_user_across_keys(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    # A burst of one a minute: the test does not race a one-second window on a busy machine.
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), rate_limit_trade_burst="1/minute", rate_limit_free="100/hour"
    )
    async with running_app(settings) as app, http_client(app) as http:
        account = await make_user(settings, clean_engine, Tier.FREE)
        keys = [(await make_api_key(clean_engine, account.user_id))[0] for _ in range(3)]
        await fresh_window(60, 10)
        responses = [await http.get("/v1/trading/ping", headers={"X-API-Key": key}) for key in keys]

    assert [r.status_code for r in responses] == [200, 429, 429]
    assert responses[1].json()["details"]["policy"] == "trade"


async def test_anonymous_requests_are_counted_per_client_ip(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="2/hour")
    await fresh_window(HOUR, 10)
    async with (
        running_app(settings) as app,
        http_client(app, "10.0.0.1") as first,
        http_client(app, "10.0.0.2") as second,
    ):
        from_first = [(await first.get("/v1/test/echo")).status_code for _ in range(3)]
        from_second = await second.get("/v1/test/echo")

    assert from_first == [200, 200, 429]
    assert from_second.status_code == 200
    assert from_second.headers["x-ratelimit-remaining"] == "1"


async def test_bad_credentials_count_against_the_client_ip(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="2/hour")
    await fresh_window(HOUR, 10)
    async with running_app(settings) as app, http_client(app) as http:
        responses = [await http.get("/v1/test/echo", headers={"X-API-Key": "ks_guessed"}) for _ in range(3)]

    assert [r.status_code for r in responses] == [401, 401, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]


async def test_data_endpoints_have_a_burst_limit(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), rate_limit_data_burst="2/second", rate_limit_anonymous="100/hour"
    )
    async with running_app(settings) as app, http_client(app) as http:
        await fresh_window(1, 0.6)
        stocks = [await http.get("/v1/stocks") for _ in range(3)]
        one_stock = await http.get("/v1/stocks/005930")  # same class, same caller: still refused
        other = await http.get("/v1/test/echo")  # no class: only the per-hour limit

    assert [r.status_code for r in stocks] == [200, 200, 429]
    # The burst is the most constraining limit, so it is the one reported; the policy lists both.
    assert stocks[0].headers["x-ratelimit-limit"] == "2"
    assert stocks[0].headers["x-ratelimit-remaining"] == "1"
    assert stocks[0].headers["ratelimit-policy"] == "2;w=1, 100;w=3600"
    assert stocks[2].json()["details"]["policy"] == "data"
    assert one_stock.status_code == 429
    assert other.status_code == 200
    assert other.headers["x-ratelimit-limit"] == "100"
    # The refused bursts did not use up the per-hour quota: 2 data requests and this one were counted.
    assert other.headers["x-ratelimit-remaining"] == "97"


async def test_trade_class_joins_by_prefix_or_by_marker(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), rate_limit_trade_burst="1/second", rate_limit_anonymous="100/hour"
    )
    async with (
        running_app(settings) as app,
        http_client(app, "10.0.0.1") as first,
        http_client(app, "10.0.0.2") as second,
    ):
        await fresh_window(1, 0.6)
        by_prefix = [(await first.get("/v1/trading/ping")).status_code for _ in range(2)]
        by_marker = [await second.get("/v1/test/marked") for _ in range(2)]

    assert by_prefix == [200, 429]
    assert [r.status_code for r in by_marker] == [200, 429]
    assert by_marker[1].json()["details"]["policy"] == "trade"
    assert by_marker[0].headers["ratelimit-policy"] == "1;w=1, 100;w=3600"


async def test_disabled_limits_add_no_headers(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), rate_limit_enabled=False, rate_limit_anonymous="1/hour"
    )
    async with running_app(settings) as app, http_client(app) as http:
        responses = [await http.get("/v1/test/echo") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "x-ratelimit-limit" not in responses[0].headers
    assert "ratelimit" not in responses[0].headers


@pytest.mark.skipif(not is_postgres(), reason="the shared counter needs Redis (PostgreSQL + Redis pass)")
async def test_two_instances_share_one_counter_through_redis(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="4/hour")
    assert settings.redis_url is not None
    await fresh_window(HOUR, 10)
    async with running_app(settings) as app_a, running_app(settings) as app_b:
        async with http_client(app_a) as a, http_client(app_b) as b:
            remaining = []
            for http in (a, b, a, b):
                response = await http.get("/v1/test/echo")
                assert response.status_code == 200
                remaining.append(response.headers["x-ratelimit-remaining"])
            refused = await a.get("/v1/test/echo")

    assert remaining == ["3", "2", "1", "0"]
    assert refused.status_code == 429


async def test_redis_outage_fails_open_then_shared_limits_resume(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = LogRecorder()
    monkeypatch.setattr(limitstore, "log", recorder)
    await fresh_window(HOUR, 20)
    async with redis_server() as server:
        settings = gateway_settings(
            db_factory,
            engine_url(clean_engine),
            redis_url=server.url,
            redis_prefix=f"kstock-test:{db_factory.run_id}:outage:",
            rate_limit_anonymous="100/hour",
            rate_limit_redis_probe_s=0.2,
        )
        async with running_app(settings) as app_a, running_app(settings) as app_b:
            async with http_client(app_a) as a, http_client(app_b) as b:
                shared = [(await http.get("/v1/test/echo")).headers["x-ratelimit-remaining"] for http in (a, b)]
                assert shared == ["99", "98"]

                await server.stop()
                fallbacks = metric("kstock_redis_fallbacks_total", component="ratelimit")
                during = [await a.get("/v1/test/echo") for _ in range(5)]
                assert [r.status_code for r in during] == [200] * 5
                # Per instance now: app A's own counter starts from its first request of the outage.
                assert [r.headers["x-ratelimit-remaining"] for r in during] == ["99", "98", "97", "96", "95"]
                assert all("ratelimit-policy" in r.headers for r in during)
                assert metric("kstock_redis_fallbacks_total", component="ratelimit") == fallbacks + 5
                assert app_state(app_a).limit_store.degraded
                assert recorder.events("warning") == ["rate_limit_redis_unavailable"]  # once per outage

                await server.start()  # empty: it saved nothing
                await asyncio.sleep(0.3)  # past the probe interval
                resumed = [(await http.get("/v1/test/echo")).headers["x-ratelimit-remaining"] for http in (a, b)]

    assert resumed == ["99", "98"]  # one counter for both instances again
    assert not app_state(app_a).limit_store.degraded
    assert recorder.events("warning") == ["rate_limit_redis_unavailable", "rate_limit_redis_restored"]


def test_window_reset_is_whole_seconds() -> None:
    assert window_reset(60) % 60 == 0
    assert math.isclose(window_reset(60) - time.time(), 60 - time.time() % 60, abs_tol=1)


async def test_local_counters_expire_windows_and_forget_old_keys() -> None:
    clock = [1_000.0]
    counters = limitstore.LocalCounters(clock=lambda: clock[0])
    assert [await counters.incr("a", 10) for _ in range(3)] == [1, 2, 3]
    assert await counters.get_expiry("a") == 1_010.0
    await counters.incr("b", 60)

    clock[0] = 1_010.0  # a's window is over; b's is not
    assert await counters.get("a") == 0
    assert await counters.incr("a", 10) == 1  # a new window, and the old window's expiry entry must not drop it
    assert await counters.get_expiry("a") == 1_020.0
    assert len(counters) == 2

    clock[0] = 1_061.0
    await counters.incr("c", 10)
    assert len(counters) == 1  # a and b were dropped as their windows ended
