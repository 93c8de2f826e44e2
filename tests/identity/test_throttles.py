"""Sign-in and registration go through the brute-force guard (its counting is tested in tests/gateway)."""

from __future__ import annotations

from tests.support.accounts import PASSWORD, make_account
from tests.support.app import assert_error, running
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market


async def test_failed_logins_lock_the_account_even_for_the_right_password(db_factory: DatabaseFactory) -> None:
    settings = await db_factory.settings("identity_throttles", login_failures_per_account="3/15minutes")
    await seed_market(settings)
    async with running(settings) as live:
        account = await make_account(live, "target@example.kr")
        for _ in range(3):
            wrong = await live.http.post("/v1/auth/login", json={"email": account.email, "password": "guess-guess-1"})
            assert_error(wrong, 401, "INVALID_CREDENTIALS")
        right = await live.http.post("/v1/auth/login", json={"email": "TARGET@example.kr", "password": PASSWORD})
        assert_error(right, 429, "RATE_LIMIT_EXCEEDED")
        # The current password of a password change is guarded the same way.
        change = await live.http.patch(
            "/v1/users/me",
            json={"current_password": PASSWORD, "new_password": "staple-orbit-lantern"},
            headers=account.headers,
        )
        assert_error(change, 429, "RATE_LIMIT_EXCEEDED")


async def test_registrations_per_address_are_limited_taken_addresses_included(db_factory: DatabaseFactory) -> None:
    settings = await db_factory.settings("identity_registrations", registrations_per_ip="2/hour")
    await seed_market(settings)
    async with running(settings) as live:
        first = {"email": "first@example.kr", "password": PASSWORD, "name": "First"}
        assert (await live.http.post("/v1/auth/register", json=first)).status_code == 201
        assert_error(await live.http.post("/v1/auth/register", json=first), 409, "EMAIL_EXISTS")
        third = {"email": "third@example.kr", "password": PASSWORD, "name": "Third"}
        assert_error(await live.http.post("/v1/auth/register", json=third), 429, "RATE_LIMIT_EXCEEDED")
