"""Tier gates (financials beyond 5 years) and what admins may change, effective at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
import pytest_asyncio
from fastapi import APIRouter, Depends

from kstock.identity.principal import Principal, Role, Tier
from kstock.identity.tiers import GATES, tier_gate
from tests.support.accounts import Account, login, make_account
from tests.support.app import Live, assert_error, running
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

SIX_YEARS = "/v1/stocks/005930/financials?years=6"


def _gated_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/test/premium")
    async def premium(principal: Annotated[Principal, Depends(tier_gate("financials.years_over_5"))]) -> dict[str, str]:
        return {"tier": principal.tier.value}

    return router


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(db_factory: DatabaseFactory) -> AsyncIterator[Live]:
    settings = await db_factory.settings("identity_tiers", snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings, _gated_routes()) as app:
        yield app


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(live: Live) -> Account:
    return await make_account(live, "admin@example.kr", tier=Tier.PRO, role=Role.ADMIN)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def free(live: Live) -> Account:
    return await make_account(live, "free@example.kr")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def basic(live: Live) -> Account:
    return await make_account(live, "basic@example.kr", tier=Tier.BASIC)


async def test_five_years_of_financials_are_open_to_everyone(live: Live, free: Account) -> None:
    for headers in ({}, free.headers):
        response = await live.http.get("/v1/stocks/005930/financials?years=5&period_type=annual", headers=headers)
        assert response.status_code == 200
        assert [f["fiscal_year"] for f in response.json()["financials"]] == [2023]  # the seed's one annual row


async def test_more_years_ask_an_anonymous_caller_to_sign_in(live: Live) -> None:
    body = assert_error(await live.http.get(SIX_YEARS), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "missing"}
    assert "basic" in body["message"]


async def test_more_years_tell_a_free_user_what_to_upgrade_to(live: Live, free: Account) -> None:
    body = assert_error(await live.http.get(SIX_YEARS, headers=free.headers), 403, "TIER_LIMIT_EXCEEDED")
    assert body["details"] == {
        "required_tier": "basic",
        "current_tier": "free",
        "upgrade_url": live.settings.upgrade_url,
    }


async def test_basic_and_pro_get_more_years_also_through_an_api_key(live: Live, basic: Account, admin: Account) -> None:
    for account in (basic, admin):
        response = await live.http.get(SIX_YEARS + "&period_type=quarterly", headers=account.headers)
        assert response.status_code == 200
        periods = [(f["fiscal_year"], f["fiscal_quarter"]) for f in response.json()["financials"]]
        assert periods == [(2024, 4), (2024, 3), (2024, 2), (2024, 1), (2023, 4)]
    key = (await live.http.post("/v1/api-keys", json={"name": "k"}, headers=basic.headers)).json()["key"]
    assert (await live.http.get(SIX_YEARS, headers={"X-API-Key": key})).status_code == 200


async def test_a_route_gated_as_a_whole(live: Live, free: Account, basic: Account) -> None:
    assert_error(await live.http.get("/v1/test/premium"), 401, "UNAUTHORIZED")
    assert_error(await live.http.get("/v1/test/premium", headers=free.headers), 403, "TIER_LIMIT_EXCEEDED")
    assert (await live.http.get("/v1/test/premium", headers=basic.headers)).json() == {"tier": "basic"}


def test_gates_are_data() -> None:
    assert GATES["financials.years_over_5"].required_tier is Tier.BASIC
    with pytest.raises(KeyError):
        tier_gate("no.such.gate")


async def test_only_admins_change_users(live: Live, free: Account, basic: Account) -> None:
    response = await live.http.patch(f"/v1/admin/users/{basic.id}", json={"tier": "pro"}, headers=free.headers)
    assert assert_error(response, 403, "FORBIDDEN")["details"] == {"required_role": "admin"}
    assert_error(await live.http.patch(f"/v1/admin/users/{basic.id}", json={"tier": "pro"}), 401, "UNAUTHORIZED")
    me = (await live.http.get("/v1/users/me", headers=basic.headers)).json()
    assert me["tier"] == "basic"


async def test_an_upgrade_is_effective_at_once(live: Live, admin: Account) -> None:
    user = await make_account(live, "upgrade@example.kr")
    # The instance has cached the user as free.
    assert_error(await live.http.get(SIX_YEARS, headers=user.headers), 403, "TIER_LIMIT_EXCEEDED")
    response = await live.http.patch(f"/v1/admin/users/{user.id}", json={"tier": "basic"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["tier"]) == (str(user.id), "basic")
    assert (await live.http.get(SIX_YEARS, headers=user.headers)).status_code == 200
    [event] = [e for e in await live.audit_events("user.tier_changed") if e.summary and str(user.id) in e.summary]
    assert event.actor_user_id == admin.id
    assert '"from":"free","to":"basic"' in str(event.summary)


async def test_promotion_to_admin(live: Live, admin: Account) -> None:
    user = await make_account(live, "promoted@example.kr")
    other = await make_account(live, "other@example.kr")
    response = await live.http.patch(f"/v1/admin/users/{user.id}", json={"role": "admin"}, headers=admin.headers)
    assert response.json()["role"] == "admin"
    changed = await live.http.patch(f"/v1/admin/users/{other.id}", json={"tier": "pro"}, headers=user.headers)
    assert changed.json()["tier"] == "pro"


async def test_disabling_an_account_ends_its_sessions_at_once(live: Live, admin: Account) -> None:
    user = await make_account(live, "disabled@example.kr")
    assert (await live.http.get("/v1/users/me", headers=user.headers)).status_code == 200
    response = await live.http.patch(f"/v1/admin/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    assert response.json()["is_active"] is False
    assert_error(await live.http.get("/v1/users/me", headers=user.headers), 401, "UNAUTHORIZED")
    assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token}), 401, "UNAUTHORIZED"
    )
    assert_error(
        await live.http.post("/v1/auth/login", json={"email": user.email, "password": user.password}),
        401,
        "INVALID_CREDENTIALS",
    )
    # Re-enabled, the account signs in again (its old sessions stay ended).
    await live.http.patch(f"/v1/admin/users/{user.id}", json={"is_active": True}, headers=admin.headers)
    await login(live, user.email)
    assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token}), 401, "UNAUTHORIZED"
    )


async def test_admin_request_errors(live: Live, admin: Account) -> None:
    unknown = await live.http.patch(f"/v1/admin/users/{uuid.uuid4()}", json={"tier": "pro"}, headers=admin.headers)
    assert_error(unknown, 404, "USER_NOT_FOUND")
    bad_tier = await live.http.patch(f"/v1/admin/users/{admin.id}", json={"tier": "gold"}, headers=admin.headers)
    assert assert_error(bad_tier, 400, "VALIDATION_ERROR")["details"] == {"tier": ["must be one of: free, basic, pro"]}
    extra = await live.http.patch(f"/v1/admin/users/{admin.id}", json={"email": "x@y.kr"}, headers=admin.headers)
    assert assert_error(extra, 400, "VALIDATION_ERROR")["details"] == {"email": ["is not a known field"]}
    for change in ({"role": "user"}, {"is_active": False}):
        response = await live.http.patch(f"/v1/admin/users/{admin.id}", json=change, headers=admin.headers)
        assert_error(response, 409, "SELF_LOCKOUT")
    me = (await live.http.get("/v1/users/me", headers=admin.headers)).json()
    assert (me["role"], me["is_active"]) == ("admin", True)


async def test_admins_act_with_an_access_token_not_a_key(live: Live, admin: Account, free: Account) -> None:
    key = (await live.http.post("/v1/api-keys", json={"name": "k"}, headers=admin.headers)).json()["key"]
    response = await live.http.patch(f"/v1/admin/users/{free.id}", json={"tier": "pro"}, headers={"X-API-Key": key})
    assert assert_error(response, 403, "INSUFFICIENT_SCOPE")["details"]["required_scope"] == "admin"
    # Not even a key with the admin scope: changing users takes an access token.
    body = {"name": "admin key", "scopes": ["read", "admin"]}
    admin_key = (await live.http.post("/v1/api-keys", json=body, headers=admin.headers)).json()["key"]
    response = await live.http.patch(
        f"/v1/admin/users/{free.id}", json={"tier": "pro"}, headers={"X-API-Key": admin_key}
    )
    assert assert_error(response, 403, "FORBIDDEN")["details"] == {"authorization": "bearer token required"}
