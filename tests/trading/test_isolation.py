"""Another user's account answers 404 on every route and changes nothing; API keys need the trade scope to trade;
a restart of the server mid-session loses no order, fill or position."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio

from kstock.identity.principal import Tier
from tests.support.accounts import Account, make_account
from tests.support.app import Live, assert_error, running
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market
from tests.trading.helpers import CODE, account, engine_for, new_account, place, prints, set_market, step

pytestmark = pytest.mark.asyncio(loop_scope="session")


def routes(aid: str, oid: str, sid: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/v1/trading/accounts/{aid}"
    order = {"stock_code": CODE, "side": "buy", "order_type": "market", "quantity": 1}
    return [
        ("GET", base, None),
        ("POST", f"{base}/reset", {}),
        ("DELETE", base, None),
        ("POST", f"{base}/orders/preview", order),
        ("POST", f"{base}/orders/execute", {"preview_id": str(uuid.uuid4())}),
        ("GET", f"{base}/orders", None),
        ("GET", f"{base}/orders/{oid}", None),
        ("DELETE", f"{base}/orders/{oid}", None),
        ("GET", f"{base}/status", None),
        ("GET", f"{base}/portfolio", None),
        ("GET", f"{base}/risk", None),
        ("GET", f"{base}/trades", None),
        ("GET", f"{base}/performance", None),
        ("GET", f"{base}/signals", None),
        ("GET", f"{base}/events", None),
        ("POST", f"{base}/start", None),
        ("POST", f"{base}/stop", {"confirm": True}),
        ("POST", f"{base}/risk/override", {"reason": "mine now", "expires_in_s": 600}),
        ("GET", f"{base}/config", None),
        ("PUT", f"{base}/config/risk", {"max_order_value": 1}),
        ("POST", f"{base}/strategies", {"name": "ma_cross", "stock_codes": [CODE], "quantity": 1}),
        ("GET", f"{base}/strategies", None),
        ("PATCH", f"{base}/strategies/{sid}", {"enabled": False}),
        ("DELETE", f"{base}/strategies/{sid}", None),
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owner(live: Live) -> Account:
    return await make_account(live, "owner-trading@example.com", tier=Tier.PRO)


async def test_every_route_hides_another_users_account(live: Live, owner: Account) -> None:
    intruder = await make_account(live, "intruder-trading@example.com", tier=Tier.PRO)
    await set_market(live, asks=((71_000, 100),), bids=((70_900, 100),))
    aid = await new_account(live, owner)
    order = await place(live, owner, aid, order_type="limit", limit_price=65_000, quantity=3)
    strategy = await live.http.post(
        f"/v1/trading/accounts/{aid}/strategies",
        json={"name": "ma_cross", "stock_codes": [CODE], "quantity": 1},
        headers=owner.headers,
    )
    sid = strategy.json()["id"]
    before = await account(live, owner, aid)
    for method, url, body in routes(aid, order["id"], sid):
        response = await live.http.request(method, url, json=body, headers=intruder.headers)
        assert_error(response, 404, "ACCOUNT_NOT_FOUND")
        anonymous = await live.http.request(method, url, json=body)
        assert_error(anonymous, 401, "UNAUTHORIZED")
    after = await account(live, owner, aid)
    assert {**after, "updated_at": None} == {**before, "updated_at": None}
    listed = (await live.http.get(f"/v1/trading/accounts/{aid}/orders/{order['id']}", headers=owner.headers)).json()
    assert listed["status"] == "open"
    assert (await live.http.get("/v1/trading/accounts", headers=intruder.headers)).json()["accounts"] == []
    # A missing account answers the same; the owner's order id under the intruder's own account is just unknown.
    assert_error(
        await live.http.get(f"/v1/trading/accounts/{uuid.uuid4()}", headers=intruder.headers), 404, "ACCOUNT_NOT_FOUND"
    )
    own = await new_account(live, intruder)
    stolen = await live.http.delete(f"/v1/trading/accounts/{own}/orders/{order['id']}", headers=intruder.headers)
    assert_error(stolen, 404, "ORDER_NOT_FOUND")
    strategy_elsewhere = await live.http.delete(
        f"/v1/trading/accounts/{own}/strategies/{sid}", headers=intruder.headers
    )
    assert_error(strategy_elsewhere, 404, "STRATEGY_NOT_FOUND")


async def test_api_keys_need_the_trade_scope_to_trade(live: Live, owner: Account) -> None:
    aid = await new_account(live, owner)
    keys = {}
    for scopes in (["read"], ["read", "trade"]):
        created = await live.http.post(
            "/v1/api-keys", json={"name": "-".join(scopes), "scopes": scopes}, headers=owner.headers
        )
        assert created.status_code == 201, created.text
        keys[len(scopes)] = {"X-API-Key": created.json()["key"]}
    read_only, trading = keys[1], keys[2]
    assert (await live.http.get(f"/v1/trading/accounts/{aid}", headers=read_only)).status_code == 200
    order = {"stock_code": CODE, "side": "buy", "order_type": "market", "quantity": 1}
    for method, url, body in (
        ("POST", f"/v1/trading/accounts/{aid}/orders/preview", order),
        ("POST", f"/v1/trading/accounts/{aid}/stop", {"confirm": True}),
        ("PUT", f"/v1/trading/accounts/{aid}/config/risk", {"max_order_value": 1}),
        ("POST", "/v1/trading/accounts", {"name": "by key", "starting_cash": 1_000_000}),
    ):
        response = await live.http.request(method, url, json=body, headers=read_only)
        assert_error(response, 403, "INSUFFICIENT_SCOPE")
    previewed = await live.http.post(f"/v1/trading/accounts/{aid}/orders/preview", json=order, headers=trading)
    assert previewed.status_code == 200, previewed.text


async def test_a_restart_mid_session_loses_no_order_fill_or_position(db_factory: DatabaseFactory) -> None:
    settings = await db_factory.settings("trading_restart", snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings) as first:
        user = await make_account(first, "restart@example.com", tier=Tier.PRO)
        await set_market(first, asks=((71_000, 5),), bids=((70_900, 100),), last=71_000)
        aid = await new_account(first, user)
        bought = await place(first, user, aid, quantity=5)
        resting = await place(first, user, aid, order_type="limit", limit_price=70_000, quantity=10)
        engine = engine_for(first)
        await engine.on_step(step(prints((70_000, 4))))  # 4 of 10 fill before the restart
        before = await account(first, user, aid)
    async with running(settings) as second:
        await set_market(second, asks=((71_000, 5),), bids=((70_900, 100),), last=71_000)
        after = await account(second, user, aid)
        assert {**after, "updated_at": None} == {**before, "updated_at": None}
        got = (await second.http.get(f"/v1/trading/accounts/{aid}/orders/{bought['id']}", headers=user.headers)).json()
        assert got["status"] == "filled"
        order = (
            await second.http.get(f"/v1/trading/accounts/{aid}/orders/{resting['id']}", headers=user.headers)
        ).json()
        assert (order["status"], order["filled_quantity"]) == ("open", 4)
        # A new engine reloads the open order from the database and goes on filling it.
        await engine_for(second).on_step(step(prints((69_900, 100))))
        order = (
            await second.http.get(f"/v1/trading/accounts/{aid}/orders/{resting['id']}", headers=user.headers)
        ).json()
        assert (order["status"], order["filled_quantity"]) == ("filled", 10)
        [position] = (await account(second, user, aid))["positions"]
        assert position["quantity"] == 15
