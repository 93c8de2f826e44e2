"""Scopes: the route table covers every operation of the API document, and walking every state-changing operation
with a key that lacks its scope changes nothing (read keys, write keys on trading, non-admins on admin routes)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest_asyncio
from fastapi.routing import APIRoute

from kstock.api import DOMAIN_ROUTERS
from kstock.gateway.audit import _READ_ONLY
from kstock.identity.models import User
from kstock.identity.principal import Role, Scope, Tier
from kstock.identity.scopes import ROUTE_SCOPES, SAFE_METHODS, required_scope
from tests.support.accounts import Account, api_key, make_account
from tests.support.app import Live, app_state, assert_error

SAMSUNG = "005930"
PUBLIC = {("POST", f"/v1/auth/{name}") for name in ("register", "login", "refresh", "logout")}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owner(live: Live) -> Account:
    return await make_account(live, "scopes-owner@example.kr", tier=Tier.PRO)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(live: Live) -> Account:
    return await make_account(live, "scopes-admin@example.kr", tier=Tier.PRO, role=Role.ADMIN)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ids(live: Live, owner: Account, admin: Account) -> dict[str, str]:
    """Real resources of ``owner``, made with the access token: the walk aims at things that exist."""
    http, headers = live.http, owner.headers

    async def made(url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    portfolio = await made("/v1/portfolios", {"name": "scoped"})
    trade = {"stock_code": SAMSUNG, "side": "buy", "quantity": 10, "price": 55_000, "trade_date": "2025-01-06"}
    transaction = await made(f"/v1/portfolios/{portfolio['id']}/transactions", trade)
    screen = await made("/v1/screens", {"name": "kospi", "definition": {"market": "kospi"}})
    account = await made("/v1/trading/accounts", {"name": "scoped", "starting_cash": 10_000_000})
    key = await made("/v1/api-keys", {"name": "listed"})
    return {
        "portfolio_id": portfolio["id"],
        "transaction_id": transaction.get("id") or transaction["transaction"]["id"],
        "stock_code": SAMSUNG,
        "screen_id": screen["id"],
        "account_id": account["id"],
        "order_id": str(uuid.uuid4()),
        "strategy_id": str(uuid.uuid4()),
        "key_id": key["id"],
        "user_id": str(admin.id),
    }


def operations(live: Live) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in the API document."""
    paths: dict[str, dict[str, Any]] = live.app.openapi()["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item if method != "parameters"]


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], path)


async def state(live: Live, owner: Account, ids: dict[str, str]) -> list[Any]:
    """Everything the walk could have changed, as the owner reads it."""
    pid, aid = ids["portfolio_id"], ids["account_id"]
    urls = (
        "/v1/users/me",
        "/v1/api-keys",
        "/v1/portfolios",
        f"/v1/portfolios/{pid}",
        f"/v1/portfolios/{pid}/transactions",
        "/v1/screens",
        f"/v1/screens/{ids['screen_id']}",
        "/v1/trading/accounts",
        f"/v1/trading/accounts/{aid}/config",
        f"/v1/trading/accounts/{aid}/risk",
        f"/v1/trading/accounts/{aid}/events",
        f"/v1/trading/accounts/{aid}/orders",
        f"/v1/trading/accounts/{aid}/strategies",
    )
    seen = []
    for url in urls:
        response = await live.http.get(url, headers=owner.headers)
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        if isinstance(body, dict) and "api_keys" in body:
            for entry in body["api_keys"]:
                entry.pop("last_used_at")  # the walk's keys are used, which is not a change to the account
        seen.append(body)
    return seen


def test_the_table_gives_every_operation_a_scope_and_every_write_more_than_read(live: Live) -> None:
    documented = operations(live)
    assert len(documented) > 60
    for entry in ROUTE_SCOPES:  # no stale rows: every exception names a real operation
        assert entry in documented, entry
    read_only_posts = {
        (method, path)
        for method, path in documented
        if method not in SAFE_METHODS and required_scope(method, path) in {None, Scope.READ}
    }
    # The only writes without more than read: the sign-in routes, and queries that change nothing.
    assert read_only_posts - PUBLIC == {("POST", "/v1/screen"), ("POST", "/v1/screens/{screen_id}/run")}
    assert {path for _, path in read_only_posts - PUBLIC} <= {
        f"/v1{route.path}" for route in _routes_of() if route.endpoint in _READ_ONLY
    }
    for method, path in documented:
        needed = required_scope(method, path)
        if path.startswith("/v1/admin"):
            assert needed is Scope.ADMIN, (method, path)
        elif path.startswith("/v1/trading") and method not in SAFE_METHODS:
            assert needed is Scope.TRADE, (method, path)
        elif method in SAFE_METHODS:
            assert needed is Scope.READ, (method, path)


def _routes_of() -> list[APIRoute]:
    return [route for router in DOMAIN_ROUTERS for route in router.routes if isinstance(route, APIRoute)]


async def test_a_read_only_key_changes_nothing(live: Live, owner: Account, ids: dict[str, str]) -> None:
    read_only = await api_key(live, owner, "read")
    before = await state(live, owner, ids)
    walked = 0
    for method, path in operations(live):
        if method in SAFE_METHODS or required_scope(method, path) is Scope.READ:
            continue
        response = await live.http.request(method, fill(path, ids), json={}, headers=read_only)
        assert not response.is_success, (method, path)
        if (method, path) in PUBLIC:
            continue
        walked += 1
        if path.startswith("/v1/admin"):
            assert assert_error(response, 403, "FORBIDDEN")["details"] == {"required_role": "admin"}
            continue
        body = assert_error(response, 403, "INSUFFICIENT_SCOPE")
        assert body["details"]["key_scopes"] == ["read"], (method, path)
        expected = "trade" if path.startswith("/v1/trading") else "write"
        assert body["details"]["required_scope"] == expected, (method, path)
    assert walked >= 25
    assert await state(live, owner, ids) == before


async def test_a_write_key_writes_but_cannot_trade(live: Live, owner: Account, ids: dict[str, str]) -> None:
    writer = await api_key(live, owner, "read", "write")
    before = await state(live, owner, ids)
    trading = [(m, p) for m, p in operations(live) if p.startswith("/v1/trading") and m not in SAFE_METHODS]
    assert len(trading) >= 12
    for method, path in trading:
        response = await live.http.request(method, fill(path, ids), json={}, headers=writer)
        details = assert_error(response, 403, "INSUFFICIENT_SCOPE")["details"]
        assert details == {"required_scope": "trade", "key_scopes": ["read", "write"]}, (method, path)
    assert await state(live, owner, ids) == before

    created = await live.http.post("/v1/portfolios", json={"name": "by a write key"}, headers=writer)
    assert created.status_code == 201, created.text
    deleted = await live.http.delete(f"/v1/portfolios/{created.json()['id']}", headers=writer)
    assert deleted.status_code == 204
    saved = await live.http.post("/v1/screens", json={"name": "w", "definition": {"market": "kosdaq"}}, headers=writer)
    assert saved.status_code == 201, saved.text
    assert (await live.http.delete(f"/v1/screens/{saved.json()['id']}", headers=writer)).status_code == 204
    # The queries with a body stay open to read keys.
    read_only = await api_key(live, owner, "read")
    assert (await live.http.post("/v1/screen", json={"market": "kospi"}, headers=read_only)).status_code == 200
    ran = await live.http.post(f"/v1/screens/{ids['screen_id']}/run", headers=read_only)
    assert ran.status_code == 200, ran.text


async def test_a_trade_key_trades(live: Live, owner: Account) -> None:
    trader = await api_key(live, owner, "read", "trade")
    created = await live.http.post(
        "/v1/trading/accounts", json={"name": "by a trade key", "starting_cash": 1_000_000}, headers=trader
    )
    assert created.status_code == 201, created.text
    assert (await live.http.delete(f"/v1/trading/accounts/{created.json()['id']}", headers=trader)).status_code == 204
    # trade is not write: a trading bot's key cannot touch portfolios.
    refused = await live.http.post("/v1/portfolios", json={"name": "no"}, headers=trader)
    assert assert_error(refused, 403, "INSUFFICIENT_SCOPE")["details"]["required_scope"] == "write"


async def test_admin_routes_need_an_admin_acting_as_one(
    live: Live, owner: Account, admin: Account, ids: dict[str, str]
) -> None:
    admin_ops = [(m, p) for m, p in operations(live) if p.startswith("/v1/admin")]
    assert admin_ops
    everything = await api_key(live, owner, "read", "write", "trade")
    admins_plain_key = await api_key(live, admin, "read", "write", "trade")
    for method, path in admin_ops:
        url = fill(path, ids)
        body = {"tier": "pro"} if method == "PATCH" else None
        by_user = await live.http.request(method, url, json=body, headers=owner.headers)
        assert assert_error(by_user, 403, "FORBIDDEN")["details"] == {"required_role": "admin"}
        assert_error(await live.http.request(method, url, json=body, headers=everything), 403, "FORBIDDEN")
        refused = await live.http.request(method, url, json=body, headers=admins_plain_key)
        details = assert_error(refused, 403, "INSUFFICIENT_SCOPE")["details"]
        assert details == {"required_scope": "admin", "key_scopes": ["read", "trade", "write"]}

    admins_key = await api_key(live, admin, "read", "admin")
    assert (await live.http.get("/v1/admin/audit", headers=admins_key)).status_code == 200
    assert (await live.http.get("/v1/admin/audit", headers=admin.headers)).status_code == 200
    # Changing users is account management: an access token only, even for a key with the admin scope.
    changed = await live.http.patch(f"/v1/admin/users/{owner.id}", json={"tier": "basic"}, headers=admins_key)
    assert assert_error(changed, 403, "FORBIDDEN")["details"] == {"authorization": "bearer token required"}
    me = await live.http.get("/v1/users/me", headers=owner.headers)
    assert me.json()["tier"] == "pro"


async def test_only_an_admin_can_hold_the_admin_scope(live: Live, owner: Account) -> None:
    refused = await live.http.post(
        "/v1/api-keys", json={"name": "escalate", "scopes": ["read", "admin"]}, headers=owner.headers
    )
    body = assert_error(refused, 403, "FORBIDDEN")
    assert body["details"] == {"scopes": ["admin needs the admin role"], "required_role": "admin"}
    listed = (await live.http.get("/v1/api-keys", headers=owner.headers)).json()["api_keys"]
    assert "escalate" not in {entry["name"] for entry in listed}


async def test_a_demoted_admins_key_loses_the_admin_scope(live: Live) -> None:
    demoted = await make_account(live, "scopes-demoted@example.kr", role=Role.ADMIN)
    admins_key = await api_key(live, demoted, "read", "admin")
    assert (await live.http.get("/v1/admin/audit", headers=admins_key)).status_code == 200
    await live.update(User, User.id == demoted.id, role=Role.USER.value)
    app_state(live.app).identity_cache.forget_user(demoted.id)
    refused = await live.http.get("/v1/admin/audit", headers=admins_key)
    assert assert_error(refused, 403, "FORBIDDEN")["details"] == {"required_role": "admin"}
