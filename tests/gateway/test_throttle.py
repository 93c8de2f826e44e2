"""Brute-force throttles: failed logins per account and per IP, registrations per IP."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from kstock.errors import RateLimitError
from kstock.gateway.throttle import BruteForceGuard, ip_of
from tests.gateway.helpers import engine_url, gateway_settings, running_app
from tests.support.app import app_state, http_client
from tests.support.databases import DatabaseFactory


def request_from(app: FastAPI, ip: str) -> str:
    """The address the guard counts a login request from ``ip`` against."""
    return ip_of(
        Request(
            {
                "type": "http",
                "method": "POST",
                "path": "/v1/auth/login",
                "headers": [],
                "client": (ip, 5000),
                "app": app,
            }
        )
    )


def guard_of(app: FastAPI) -> BruteForceGuard:
    guard: BruteForceGuard = app_state(app).throttle
    return guard


async def test_ten_failures_block_the_account_from_any_address(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    # Request limits off: the throttles do not depend on them.
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_enabled=False)
    async with running_app(settings) as app:
        guard, attacker = guard_of(app), request_from(app, "203.0.113.7")
        for _ in range(10):
            await guard.check_login(attacker, "Victim@Example.com")
            await guard.login_failed(attacker, "Victim@Example.com")

        # The 11th attempt is refused before any password is looked at, so the right one does not help either,
        # whatever the address and however the address is spelled.
        with pytest.raises(RateLimitError) as refused:
            await guard.check_login(request_from(app, "198.51.100.1"), " victim@example.com")
        await guard.check_login(attacker, "someone-else@example.com")  # other accounts are not affected

    error = refused.value
    assert error.status == 429
    assert error.details["limit"] == 10
    assert error.details["remaining"] == 0
    assert error.details["policy"] == "login_account"
    retry_after = int(error.headers["Retry-After"])
    assert 15 * 60 - 5 <= retry_after <= 15 * 60
    reset_at = dt.datetime.fromisoformat(error.details["reset_at"].replace("Z", "+00:00"))
    assert abs(reset_at.timestamp() - (time.time() + retry_after)) <= 2


async def test_failures_from_one_address_block_that_address(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), login_failures_per_ip="5/15minutes")
    async with running_app(settings) as app:
        guard, attacker = guard_of(app), request_from(app, "203.0.113.8")
        for n in range(5):
            await guard.login_failed(attacker, f"user{n}@example.com")

        with pytest.raises(RateLimitError) as refused:
            await guard.check_login(attacker, "fresh@example.com")
        await guard.check_login(request_from(app, "203.0.113.9"), "fresh@example.com")

    assert refused.value.details["policy"] == "login_ip"
    assert refused.value.details["limit"] == 5


async def test_registrations_per_address(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), registrations_per_ip="3/hour")
    async with running_app(settings) as app:
        guard, client = guard_of(app), request_from(app, "203.0.113.10")
        for _ in range(3):
            await guard.check_registration(client)
            await guard.registered(client)

        with pytest.raises(RateLimitError) as refused:
            await guard.check_registration(client)
        await guard.check_registration(request_from(app, "203.0.113.11"))

    assert refused.value.details["policy"] == "registration"
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 3600


async def test_a_throttled_login_is_answered_429_in_the_error_format(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), login_failures_per_account="2/15minutes", rate_limit_enabled=False
    )
    async with running_app(settings) as app, http_client(app, "203.0.113.12") as http:
        for _ in range(2):
            await guard_of(app).login_failed(request_from(app, "203.0.113.12"), "a@example.com")
        response = await http.post("/v1/test/guarded-login", params={"email": "a@example.com"})

    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 900
    body = response.json()
    assert body["error"] == "RATE_LIMIT_EXCEEDED"
    assert body["message"].startswith("Too many failed logins for this account")
    assert body["details"]["limit"] == 2
