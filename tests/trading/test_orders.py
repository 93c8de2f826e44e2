"""Accounts and the two-step order path over HTTP, against a market set through the real broker; figures by hand.

Costs used below (2026, KOSPI): commission 0.015% floored to the won; on sales a transaction tax of 0.05% and a
rural special tax of 0.15%, each floored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
import pytest_asyncio

from kstock.identity.principal import Tier
from kstock.sources import Phase
from kstock.trading import previews
from tests.support.accounts import Account, make_account
from tests.support.app import Live, assert_error, running
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market
from tests.trading.helpers import account, engine_for, failed, new_account, place, preview, prints, set_market, step

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trader(live: Live) -> Account:
    return await make_account(live, "trader@example.com", tier=Tier.PRO)


async def test_accounts_open_list_and_quota(live: Live) -> None:
    user = await make_account(live, "free@example.com")
    first = await live.http.post(
        "/v1/trading/accounts", json={"name": "a", "starting_cash": 10_000_000}, headers=user.headers
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["cash"] == body["equity"] == body["buying_power"] == 10_000_000
    assert body["state"] == "active"
    taken = await live.http.post(
        "/v1/trading/accounts", json={"name": "a", "starting_cash": 10_000_000}, headers=user.headers
    )
    assert_error(taken, 409, "ACCOUNT_NAME_TAKEN")
    small = await live.http.post("/v1/trading/accounts", json={"name": "b", "starting_cash": 5}, headers=user.headers)
    assert_error(small, 400, "VALIDATION_ERROR")
    text_cash = await live.http.post(
        "/v1/trading/accounts", json={"name": "b", "starting_cash": "1e9"}, headers=user.headers
    )
    assert_error(text_cash, 400, "VALIDATION_ERROR")
    await new_account(live, user, "b")
    third = await live.http.post(
        "/v1/trading/accounts", json={"name": "c", "starting_cash": 10_000_000}, headers=user.headers
    )
    body = assert_error(third, 403, "TIER_LIMIT_EXCEEDED")
    listed = (await live.http.get("/v1/trading/accounts", headers=user.headers)).json()
    assert [a["name"] for a in listed["accounts"]] == ["a", "b"]
    assert listed["meta"] == {"count": 2, "limit": 2}


async def test_market_buy_walks_the_book_and_settles_on_t_plus_2(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 5), (71_100, 10)), last=71_000)
    account_id = await new_account(live, trader)
    previewed = await preview(live, trader, account_id, quantity=10)
    assert previewed["passed"]
    assert previewed["preview_id"]
    estimate = previewed["estimate"]
    # 5 x 71,000 + 5 x 71,100 = 710,500; commission floor(710,500 x 0.015%) = 106
    assert estimate["fills"] == [{"price": 71_000, "quantity": 5}, {"price": 71_100, "quantity": 5}]
    assert estimate["gross_amount"] == 710_500
    assert estimate["costs"]["commission"] == 106
    assert estimate["net_cash_change"] == -710_606
    assert estimate["cash_after"] == 100_000_000 - 710_606
    assert any("walk 2 levels" in w for w in previewed["warnings"])
    assert previewed["market"]["price_band"] == {"lower": 49_000, "upper": 91_000}

    executed = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/execute",
        json={"preview_id": previewed["preview_id"]},
        headers=trader.headers,
    )
    assert executed.status_code == 201, executed.text
    order = executed.json()
    assert order["status"] == "filled"
    assert order["filled_quantity"] == 10
    assert order["average_fill_price"] == 71_050.0
    assert [(f["price"], f["quantity"]) for f in order["fills"]] == [(71_000, 5), (71_100, 5)]
    assert sum(f["commission"] for f in order["fills"]) == order["commission"]
    # each execution is charged on its own amount: floor(355,000 x 0.015%) + floor(355,500 x 0.015%) = 53 + 53
    assert order["commission"] == 106
    detail = await account(live, trader, account_id)
    assert detail["cash"] == 100_000_000 - 710_606
    assert detail["reserved_cash"] == 0
    cash = detail["cash_by_settlement"]
    assert cash["settled"] == 100_000_000
    assert cash["payable"] == 710_606
    assert cash["projected"] == detail["cash"]
    [position] = detail["positions"]
    assert position["quantity"] == 10
    assert position["average_price"] == 71_050.0
    assert position["current_price"] == 71_000
    # valued at 71,000: 710,000 - 710,500 - 106 = -606
    assert position["unrealized_pnl"] == -606
    assert detail["equity"] == 100_000_000 - 710_606 + 710_000
    assert detail["total_pnl"] == -606


async def test_sell_pays_commission_and_tax_and_realizes_pnl(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 100),), bids=((70_900, 100),), last=71_000)
    account_id = await new_account(live, trader)
    await place(live, trader, account_id, quantity=10)  # 710,000 + 106
    await set_market(live, asks=((72_100, 100),), bids=((72_000, 100),), last=72_000)
    sold = await place(live, trader, account_id, side="sell", quantity=10)
    assert sold["status"] == "filled"
    # 720,000: commission 108, transaction tax 360, rural tax 1,080
    assert (sold["commission"], sold["tax"]) == (108, 1_440)
    [fill] = sold["fills"]
    assert fill["net_cash"] == 720_000 - 108 - 1_440
    # realized = 720,000 - 1,548 - 710,000 - 106 (the buy's commission)
    assert fill["realized_pnl"] == 8_346
    assert fill["executed_at"] == "2026-11-23T01:00:00.000Z"  # 10:00 in Seoul, stored and read back as UTC
    # The order's own times are the wall clock's: it closes after it was created, whatever the market's clock says.
    assert sold["created_at"] <= sold["closed_at"] == sold["updated_at"]
    assert sold["closed_at"] > fill["executed_at"]  # the market time of this test lies in the past
    again = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders/{sold['id']}", headers=trader.headers)
    ).json()
    assert again["fills"][0]["executed_at"] == fill["executed_at"]
    detail = await account(live, trader, account_id)
    assert detail["realized_pnl"] == 8_346
    assert detail["cash"] == 100_000_000 + 8_346
    assert detail["equity"] == detail["cash"]
    assert detail["positions"] == []
    assert detail["commissions"] == 214
    assert detail["taxes"] == 1_440


async def test_limit_order_rests_fills_partially_then_fully_from_prints(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 100),), bids=((70_900, 100),), last=71_000)
    account_id = await new_account(live, trader)
    order = await place(live, trader, account_id, order_type="limit", limit_price=70_000, quantity=10)
    assert order["status"] == "open"
    assert order["filled_quantity"] == 0
    # the rest holds back 700,000 and its commission 105
    assert order["reserved_cash"] == 700_105
    detail = await account(live, trader, account_id)
    assert detail["buying_power"] == 100_000_000 - 700_105

    engine = engine_for(live)
    await engine.on_step(step(prints((70_100, 50), (70_000, 3))))
    partial = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers)
    ).json()
    assert partial["status"] == "open"
    assert partial["filled_quantity"] == 3
    assert partial["reserved_cash"] == 490_073  # 7 x 70,000 + floor(490,000 x 0.015%)
    await engine.on_step(step(prints((69_900, 100))))
    done = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers)
    ).json()
    assert done["status"] == "filled"
    assert done["filled_quantity"] == 10
    assert [f["price"] for f in done["fills"]] == [70_000, 70_000]  # at its limit, not at the print
    assert order["created_at"] == done["created_at"] <= done["closed_at"] == done["updated_at"]
    detail = await account(live, trader, account_id)
    assert detail["reserved_cash"] == 0
    # 3 x 70,000 (commission 31) + 7 x 70,000 (commission 73)
    assert detail["cash"] == 100_000_000 - 700_000 - 31 - 73


async def test_prints_are_shared_in_time_priority(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 100),), bids=((70_900, 100),), last=71_000)
    first_account = await new_account(live, trader)
    second_account = await new_account(live, trader)
    first = await place(live, trader, first_account, order_type="limit", limit_price=70_500, quantity=6)
    second = await place(live, trader, second_account, order_type="limit", limit_price=70_500, quantity=6)
    await engine_for(live).on_step(step(prints((70_500, 8))))
    got = [
        (await live.http.get(f"/v1/trading/accounts/{a}/orders/{o['id']}", headers=trader.headers)).json()[
            "filled_quantity"
        ]
        for a, o in ((first_account, first), (second_account, second))
    ]
    assert got == [6, 2]


async def test_cancel_releases_the_reservation_and_a_cancelled_order_never_fills(live: Live, trader: Account) -> None:
    await set_market(live)
    account_id = await new_account(live, trader)
    order = await place(live, trader, account_id, order_type="limit", limit_price=69_000, quantity=10)
    engine = engine_for(live)
    await engine.reload()  # the engine knows the order...
    cancelled = await live.http.delete(
        f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await live.http.delete(f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers)
    assert_error(again, 409, "ORDER_NOT_OPEN")
    await engine.match(prints((68_000, 100)))  # ...but re-reads it under the account's lock before filling
    detail = await account(live, trader, account_id)
    assert detail["cash"] == detail["buying_power"] == 100_000_000
    assert detail["positions"] == []


async def test_day_orders_expire_at_the_close(live: Live, trader: Account) -> None:
    await set_market(live)
    account_id = await new_account(live, trader)
    order = await place(live, trader, account_id, order_type="limit", limit_price=69_000, quantity=10)
    expired = await engine_for(live).close_day(dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 6, 30, tzinfo=dt.UTC))
    assert expired >= 1
    body = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers)
    ).json()
    assert body["status"] == "expired"
    assert "close" in body["status_reason"]
    assert body["created_at"] <= body["closed_at"]  # expired by the market's close, stamped by the wall clock
    assert (await account(live, trader, account_id))["reserved_cash"] == 0
    listed = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders?status=expired", headers=trader.headers)
    ).json()
    assert [o["id"] for o in listed["orders"]] == [order["id"]]
    assert listed["meta"]["total"] == 1


async def test_ioc_remainder_is_cancelled_and_ioc_is_refused_in_an_auction(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 4), (71_100, 100)))
    account_id = await new_account(live, trader)
    order = await place(
        live, trader, account_id, order_type="limit", limit_price=71_000, quantity=10, time_in_force="ioc"
    )
    assert order["status"] == "cancelled"
    assert order["filled_quantity"] == 4
    assert "IOC" in order["status_reason"]
    await set_market(live, phase=Phase.PRE_OPEN)
    refused = await preview(live, trader, account_id, order_type="limit", limit_price=71_000, time_in_force="ioc")
    assert not refused["passed"]
    assert refused["preview_id"] is None
    assert "time_in_force" in failed(refused["checks"])


async def test_market_order_in_the_opening_auction_waits_and_fills_at_the_auction_price(
    live: Live, trader: Account
) -> None:
    await set_market(live, phase=Phase.PRE_OPEN)
    account_id = await new_account(live, trader)
    order = await place(live, trader, account_id, quantity=10)
    assert order["status"] == "open"
    # reserved at the upper limit: 10 x 91,000 + floor(910,000 x 0.015%)
    assert order["reserved_cash"] == 910_136
    await engine_for(live).on_step(step(prints((70_500, 1_000), phase=Phase.PRE_OPEN)))
    body = (
        await live.http.get(f"/v1/trading/accounts/{account_id}/orders/{order['id']}", headers=trader.headers)
    ).json()
    assert body["status"] == "filled"
    assert body["average_fill_price"] == 70_500.0
    assert body["fills"][0]["phase"] == "pre_open"
    assert (await account(live, trader, account_id))["reserved_cash"] == 0


async def test_checks_fail_with_reasons_and_no_preview_id(live: Live, trader: Account) -> None:
    await set_market(live)
    account_id = await new_account(live, trader, cash=1_000_000)
    off_tick = await preview(live, trader, account_id, order_type="limit", limit_price=70_050)
    assert not off_tick["passed"]
    assert off_tick["preview_id"] is None
    tick = next(c for c in off_tick["checks"] if c["name"] == "tick")
    assert "70,000 and 70,100" in tick["detail"]
    outside = await preview(live, trader, account_id, order_type="limit", limit_price=92_000)
    assert failed(outside["checks"]) == {"limit_band"}
    too_big = await preview(live, trader, account_id, quantity=100)
    assert "available_cash" in failed(too_big["checks"])
    oversell = await preview(live, trader, account_id, side="sell", quantity=1)
    assert failed(oversell["checks"]) == {"sellable_quantity"}
    missing_limit = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/preview",
        json={"stock_code": "005930", "side": "buy", "order_type": "limit", "quantity": 1},
        headers=trader.headers,
    )
    assert_error(missing_limit, 400, "VALIDATION_ERROR")
    unknown = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/preview",
        json={"stock_code": "999999", "side": "buy", "order_type": "market", "quantity": 1},
        headers=trader.headers,
    )
    assert_error(unknown, 404, "STOCK_NOT_FOUND")
    zero = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/preview",
        json={"stock_code": "005930", "side": "buy", "order_type": "market", "quantity": 0},
        headers=trader.headers,
    )
    assert_error(zero, 400, "VALIDATION_ERROR")


async def test_cash_is_never_negative(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=1_000_000)
    # 14 x 71,000 = 994,000 + 149 commission fits 1,000,000; 15 does not
    assert "available_cash" in failed((await preview(live, trader, account_id, quantity=15))["checks"])
    await live.http.put(
        f"/v1/trading/accounts/{account_id}/config/risk",
        json={"max_position_weight_pct": 100.0},
        headers=trader.headers,
    )
    await place(live, trader, account_id, quantity=14)
    detail = await account(live, trader, account_id)
    assert detail["cash"] == 1_000_000 - 994_149
    assert detail["cash"] >= 0
    assert "available_cash" in failed((await preview(live, trader, account_id, quantity=1))["checks"])


async def test_execute_is_idempotent_under_concurrent_retries(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),))
    account_id = await new_account(live, trader)
    previewed = await preview(live, trader, account_id, quantity=10)
    url = f"/v1/trading/accounts/{account_id}/orders/execute"
    responses = await asyncio.gather(
        *(live.http.post(url, json={"preview_id": previewed["preview_id"]}, headers=trader.headers) for _ in range(6))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.headers.get("idempotent-replayed", "false") for r in responses).count("true") == 5
    orders = (await live.http.get(f"/v1/trading/accounts/{account_id}/orders", headers=trader.headers)).json()
    assert orders["meta"]["total"] == 1
    assert (await account(live, trader, account_id))["cash"] == 100_000_000 - 710_106

    # The same Idempotency-Key with a new preview returns the first order, never a second one.
    key = {"Idempotency-Key": "retry-7", **trader.headers}
    first = await live.http.post(
        url, json={"preview_id": (await preview(live, trader, account_id))["preview_id"]}, headers=key
    )
    second = await live.http.post(
        url, json={"preview_id": (await preview(live, trader, account_id))["preview_id"]}, headers=key
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"


def _expiry(token: str, live: Live) -> str:
    decoded = previews.verify(live.settings.secret_key.get_secret_value(), token)
    assert decoded is not None
    return decoded.expires_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_expired_and_unknown_previews(live: Live, trader: Account) -> None:
    await set_market(live)
    account_id = await new_account(live, trader)
    previewed = await preview(live, trader, account_id)
    assert previewed["expires_at"] == _expiry(previewed["preview_id"], live)
    # A preview signed by this server that expired a second ago (as a client holding it 31 s would have it).
    secret = live.settings.secret_key.get_secret_value()
    expired, _ = previews.sign(
        secret, uuid.UUID(account_id), previewed["order"], dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    url = f"/v1/trading/accounts/{account_id}/orders/execute"
    assert_error(
        await live.http.post(url, json={"preview_id": expired}, headers=trader.headers), 409, "PREVIEW_EXPIRED"
    )
    # Altered in one byte, or signed with another key: not a preview of this server.
    token = previewed["preview_id"]
    altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    forged, _ = previews.sign("another-secret", uuid.UUID(account_id), previewed["order"], dt.datetime.now(dt.UTC))
    for bad in (altered, forged, "x" * 3_000):
        response = await live.http.post(url, json={"preview_id": bad}, headers=trader.headers)
        assert response.status_code in (400, 404), response.text
        if len(bad) <= 2_000:
            assert_error(response, 404, "PREVIEW_NOT_FOUND")
    missing = await live.http.post(
        url, json={"preview_id": "00000000-0000-0000-0000-000000000000"}, headers=trader.headers
    )
    assert_error(missing, 404, "PREVIEW_NOT_FOUND")
    # another account's preview is not this account's
    other_account = await new_account(live, trader)
    fresh = await preview(live, trader, other_account)
    assert_error(
        await live.http.post(url, json={"preview_id": fresh["preview_id"]}, headers=trader.headers),
        404,
        "PREVIEW_NOT_FOUND",
    )


async def test_execute_rechecks_against_the_market_now(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),))
    account_id = await new_account(live, trader, cash=1_000_000)
    await live.http.put(
        f"/v1/trading/accounts/{account_id}/config/risk",
        json={"max_position_weight_pct": 100.0},
        headers=trader.headers,
    )
    previewed = await preview(live, trader, account_id, quantity=13)
    assert previewed["passed"]
    await set_market(live, asks=((80_000, 1_000),), last=80_000)  # 13 x 80,000 no longer fits
    rejected = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/execute",
        json={"preview_id": previewed["preview_id"]},
        headers=trader.headers,
    )
    body = assert_error(rejected, 422, "ORDER_REJECTED")
    assert {c["name"] for c in body["details"]["failed_checks"]} >= {"available_cash"}
    assert (await live.http.get(f"/v1/trading/accounts/{account_id}/orders", headers=trader.headers)).json()["meta"][
        "total"
    ] == 0


async def test_reset_and_delete(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),))
    account_id = await new_account(live, trader)
    await place(live, trader, account_id, quantity=10)
    reset = await live.http.post(
        f"/v1/trading/accounts/{account_id}/reset", json={"starting_cash": 5_000_000}, headers=trader.headers
    )
    assert reset.status_code == 200, reset.text
    detail = await account(live, trader, account_id)
    assert detail["cash"] == detail["equity"] == 5_000_000
    assert detail["positions"] == []
    orders = (await live.http.get(f"/v1/trading/accounts/{account_id}/orders", headers=trader.headers)).json()
    assert orders["meta"]["total"] == 0
    assert (await live.http.delete(f"/v1/trading/accounts/{account_id}", headers=trader.headers)).status_code == 204
    assert_error(
        await live.http.get(f"/v1/trading/accounts/{account_id}", headers=trader.headers), 404, "ACCOUNT_NOT_FOUND"
    )


async def test_without_a_live_book_market_orders_are_refused_and_limit_orders_wait(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader)
    # 000660 has no book from a feed in this module: nothing can fill at once, so only a day limit order makes sense.
    market = await preview(live, trader, account_id, stock_code="000660", quantity=1)
    assert "market_data" in failed(market["checks"])
    assert market["market"]["feed"] is False
    limit = await preview(
        live,
        trader,
        account_id,
        stock_code="000660",
        order_type="limit",
        limit_price=market["market"]["base_price"],
        quantity=1,
    )
    assert limit["passed"], limit["checks"]
    # 005935 has never traded: no stored close, nothing from a feed: nothing to price it against.
    unpriced = await preview(live, trader, account_id, stock_code="005935", order_type="limit", limit_price=50_000)
    assert [c["name"] for c in unpriced["checks"]] == ["market_data"]
    assert unpriced["estimate"] is None
    assert unpriced["preview_id"] is None


async def test_preview_then_execute_fit_the_trade_rate_limit(db_factory: DatabaseFactory) -> None:
    """Reads and previews count as data requests (10/s); only order-changing writes take the trade burst (1/s)."""
    settings = await db_factory.settings("trading_rate_limits", snapshot_refresh_s=0, rate_limit_enabled=True)
    await seed_market(settings)
    async with running(settings) as app:
        user = await make_account(app, "limited@example.com", tier=Tier.PRO)
        await set_market(app)
        account_id = await new_account(app, user, risk=None)
        await asyncio.sleep(1.0)  # a new one-second window for the trade burst
        previewed = await preview(app, user, account_id, quantity=1)
        executed = await app.http.post(
            f"/v1/trading/accounts/{account_id}/orders/execute",
            json={"preview_id": previewed["preview_id"]},
            headers=user.headers,
        )
        assert executed.status_code == 201, executed.text
        for url in (f"/v1/trading/accounts/{account_id}", f"/v1/trading/accounts/{account_id}/orders"):
            assert (await app.http.get(url, headers=user.headers)).status_code == 200
        # A second write in the same window is over the trade burst (unless the window just turned).
        cancel = await app.http.delete(f"/v1/trading/accounts/{account_id}/orders/{uuid.uuid4()}", headers=user.headers)
        assert cancel.status_code in (404, 429)
        if cancel.status_code == 429:
            assert_error(cancel, 429, "RATE_LIMIT_EXCEEDED")


async def test_one_order_a_second_by_default(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),))
    account_id = await new_account(live, trader, risk=None)
    await place(live, trader, account_id, quantity=1)
    again = await preview(live, trader, account_id, quantity=1)
    assert failed(again["checks"]) == {"order_rate"}
    detail = next(c for c in again["checks"] if c["name"] == "order_rate")["detail"]
    assert detail == "1 orders in the last second already: limit 1 per second"
