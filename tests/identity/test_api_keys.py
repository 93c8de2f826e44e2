"""API keys: created once, listed without secrets, scoped, expiring, revocable, and private to their owner."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
import pytest_asyncio
from fastapi import APIRouter, Depends

from kstock.identity.dependencies import require_scope
from kstock.identity.models import ApiKey
from kstock.identity.principal import Principal, Role, Scope, Tier
from kstock.kit.dates import RFC3339_MESSAGE
from tests.support.accounts import Account, make_account
from tests.support.app import Live, assert_error, running
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

KEY_FORMAT = re.compile(r"^ks_([0-9a-f]{12})_[A-Za-z0-9_-]{40,}$")


def _trade_routes() -> APIRouter:
    """A stand-in for the trading routes to come: the scope check is what is tested."""
    router = APIRouter()

    @router.post("/v1/test/orders")
    async def place_order(principal: Annotated[Principal, Depends(require_scope(Scope.TRADE))]) -> dict[str, str]:
        return {"placed_by": str(principal.user_id)}

    return router


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(db_factory: DatabaseFactory) -> AsyncIterator[Live]:
    settings = await db_factory.settings("identity_api_keys", snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings, _trade_routes()) as app:
        yield app


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owner(live: Live) -> Account:
    # Pro: the module's tests make more keys than the free tier keeps.
    return await make_account(live, "owner@example.kr", tier=Tier.PRO)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intruder(live: Live) -> Account:
    return await make_account(live, "intruder@example.kr")


async def _create(live: Live, account: Account, **body: Any) -> dict[str, Any]:
    response = await live.http.post("/v1/api-keys", json={"name": "bot", **body}, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _key(created: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": created["key"]}


async def test_a_key_is_shown_once_and_listed_without_its_secret(live: Live, owner: Account) -> None:
    created = await _create(live, owner, name="backtest server")
    assert set(created) == {"id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "key"}
    match = KEY_FORMAT.match(created["key"])
    assert match is not None
    assert match.group(1) == created["prefix"]
    assert (created["name"], created["scopes"], created["expires_at"]) == ("backtest server", ["read"], None)

    listed = (await live.http.get("/v1/api-keys", headers=owner.headers)).json()["api_keys"]
    [entry] = [k for k in listed if k["id"] == created["id"]]
    assert "key" not in entry
    assert created["key"] not in str(listed)
    assert entry["last_used_at"] is None

    [event] = [e for e in await live.audit_events("api_key.created") if e.summary and created["prefix"] in e.summary]
    assert event.actor_user_id == owner.id
    assert created["key"] not in str(event.summary)


async def test_a_key_acts_for_its_owner(live: Live, owner: Account) -> None:
    created = await _create(live, owner)
    stock = await live.http.get("/v1/stocks/005930", headers=_key(created))
    assert stock.status_code == 200
    assert stock.json()["name"] == "삼성전자"
    me = await live.http.get("/v1/users/me", headers=_key(created))
    assert me.json()["email"] == owner.email
    listed = (await live.http.get("/v1/api-keys", headers=owner.headers)).json()["api_keys"]
    [entry] = [k for k in listed if k["id"] == created["id"]]
    assert entry["last_used_at"] is not None


async def test_a_key_cannot_manage_keys(live: Live, owner: Account) -> None:
    # Even a key holding every scope its owner's role allows: account management needs an access token.
    created = await _create(live, owner, scopes=["read", "write", "trade"])
    minted = await live.http.post("/v1/api-keys", json={"name": "child"}, headers=_key(created))
    assert assert_error(minted, 403, "FORBIDDEN")["details"] == {"authorization": "bearer token required"}
    assert_error(await live.http.get("/v1/api-keys", headers=_key(created)), 403, "FORBIDDEN")
    assert_error(await live.http.delete(f"/v1/api-keys/{created['id']}", headers=_key(created)), 403, "FORBIDDEN")
    assert_error(await live.http.post("/v1/auth/logout", headers=_key(created)), 403, "FORBIDDEN")


async def test_scopes_limit_what_a_key_may_do(live: Live, owner: Account) -> None:
    read_only = await _create(live, owner)
    refused = await live.http.post("/v1/test/orders", headers=_key(read_only))
    body = assert_error(refused, 403, "INSUFFICIENT_SCOPE")
    assert body["details"] == {"required_scope": "trade", "key_scopes": ["read"]}

    trader = await _create(live, owner, scopes=["read", "trade"])
    assert trader["scopes"] == ["read", "trade"]
    placed = await live.http.post("/v1/test/orders", headers=_key(trader))
    assert placed.json() == {"placed_by": str(owner.id)}
    # An access token carries every scope.
    assert (await live.http.post("/v1/test/orders", headers=owner.headers)).status_code == 200


async def test_an_expired_key_is_refused(live: Live, owner: Account) -> None:
    created = await _create(live, owner, expires_at="2099-01-01T00:00:00+09:00")
    assert created["expires_at"] == "2098-12-31T15:00:00Z"
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await live.update(ApiKey, ApiKey.id == uuid.UUID(created["id"]), expires_at=past)
    body = assert_error(await live.http.get("/v1/users/me", headers=_key(created)), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "expired api key"}


async def test_a_revoked_key_is_refused_at_once(live: Live, owner: Account) -> None:
    created = await _create(live, owner)
    assert (await live.http.get("/v1/users/me", headers=_key(created))).status_code == 200  # now cached
    deleted = await live.http.delete(f"/v1/api-keys/{created['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    body = assert_error(await live.http.get("/v1/users/me", headers=_key(created)), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "invalid api key"}
    listed = (await live.http.get("/v1/api-keys", headers=owner.headers)).json()["api_keys"]
    assert created["id"] not in {k["id"] for k in listed}
    again = await live.http.delete(f"/v1/api-keys/{created['id']}", headers=owner.headers)
    assert_error(again, 404, "API_KEY_NOT_FOUND")
    assert any(e.actor_user_id == owner.id for e in await live.audit_events("api_key.revoked"))


async def test_another_users_key_is_not_found(live: Live, owner: Account, intruder: Account) -> None:
    created = await _create(live, owner)
    response = await live.http.delete(f"/v1/api-keys/{created['id']}", headers=intruder.headers)
    assert_error(response, 404, "API_KEY_NOT_FOUND")
    assert created["id"] not in str((await live.http.get("/v1/api-keys", headers=intruder.headers)).json())
    assert (await live.http.get("/v1/users/me", headers=_key(created))).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"scopes": ["trade"]}, "scopes", 'must include "read"'),
        ({"scopes": []}, "scopes", "must have at least 1 items"),
        ({"scopes": ["admin"]}, "scopes", 'must include "read"'),
        ({"scopes": ["read", "delete"]}, "scopes.1", "must be one of: read, write, trade, admin"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at", "must be in the future"),
        ({"expires_at": "2099-01-01T00:00:00"}, "expires_at", RFC3339_MESSAGE),
        ({"user_id": str(uuid.uuid4())}, "user_id", "is not a known field"),
        ({"name": "  "}, "name", "must have at least 1 characters"),
    ],
)
async def test_invalid_key_requests(live: Live, owner: Account, body: dict[str, Any], field: str, message: str) -> None:
    response = await live.http.post("/v1/api-keys", json={"name": "bot", **body}, headers=owner.headers)
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {field: [message]}


async def test_unknown_key_and_malformed_id(live: Live, owner: Account) -> None:
    body = assert_error(await live.http.get("/v1/users/me", headers={"X-API-Key": "ks_0_nope"}), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "invalid api key"}
    assert_error(await live.http.delete("/v1/api-keys/not-a-uuid", headers=owner.headers), 400, "VALIDATION_ERROR")


async def test_each_tier_keeps_a_bounded_number_of_active_keys(live: Live) -> None:
    # The rate limit is the user's, and so is this cap: keys are not a way to more of anything.
    free = await make_account(live, "five-keys@example.kr")
    made = [await _create(live, free, name=f"k{n}") for n in range(5)]
    refused = await live.http.post("/v1/api-keys", json={"name": "sixth"}, headers=free.headers)
    body = assert_error(refused, 403, "TIER_LIMIT_EXCEEDED")
    assert body["details"] == {
        "limit": 5,
        "current_tier": "free",
        "required_tier": "basic",
        "upgrade_url": live.settings.upgrade_url,
    }
    listed = (await live.http.get("/v1/api-keys", headers=free.headers)).json()["api_keys"]
    assert len(listed) == 5  # the refused key was rolled back
    # Revoked and expired keys do not count.
    assert (await live.http.delete(f"/v1/api-keys/{made[0]['id']}", headers=free.headers)).status_code == 204
    await _create(live, free, name="after a revocation")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await live.update(ApiKey, ApiKey.id == uuid.UUID(made[1]["id"]), expires_at=past)
    await _create(live, free, name="after an expiry")
    assert_error(
        await live.http.post("/v1/api-keys", json={"name": "x"}, headers=free.headers), 403, "TIER_LIMIT_EXCEEDED"
    )


async def test_an_admin_may_give_a_key_the_admin_scope(live: Live) -> None:
    admin = await make_account(live, "keys-admin@example.kr", role=Role.ADMIN)
    created = await _create(live, admin, scopes=["read", "admin"])
    assert created["scopes"] == ["admin", "read"]
    assert (await live.http.get("/v1/admin/audit", headers=_key(created))).status_code == 200
