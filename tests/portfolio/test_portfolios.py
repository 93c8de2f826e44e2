"""Portfolios: the spec's figures, the moving-average ledger by hand, validation, tiers and concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from kstock.identity.principal import Tier
from kstock.market.table import Tick
from kstock.portfolio.models import PortfolioTransaction
from tests.portfolio.helpers import detail, new_portfolio, trade
from tests.support.accounts import make_account
from tests.support.app import Live, app_state, assert_error

D = dt.date
SAMSUNG = "005930"  # seed: last bar 2025-01-10 closes 53,400; the bar before closes 55,100


async def ledger_size(live: Live, portfolio_id: str) -> int:
    async with app_state(live.app).sessionmaker() as session:
        where = PortfolioTransaction.portfolio_id == uuid.UUID(portfolio_id)
        statement = select(func.count()).select_from(PortfolioTransaction).where(where)
        return int((await session.execute(statement)).scalar_one())


async def test_the_spec_example(live: Live) -> None:
    me = await make_account(live, "spec@example.com")
    pid = await new_portfolio(live, me)
    body = {"stock_code": SAMSUNG, "quantity": 10, "avg_price": 68_000, "purchase_date": "2025-01-02"}
    added = await live.http.post(f"/v1/portfolios/{pid}/holdings", json=body, headers=me.headers)
    assert added.status_code == 201, added.text
    # The response carries the holding's id, as the API design shows; the detail shows the same id.
    assert added.json()["id"] == str(uuid.uuid5(uuid.UUID(pid), SAMSUNG))
    assert list(added.json())[:2] == ["id", "stock_code"]
    # The price moves to 71,000 in the 2025-01-10 session (a live tick; the previous close stays 55,100).
    app_state(live.app).market_snapshot.apply_ticks([Tick(SAMSUNG, 71_000, D(2025, 1, 10))])
    result = await detail(live, me, pid)
    (holding,) = result["holdings"]
    assert holding["id"] == added.json()["id"]
    assert holding["stock_code"] == SAMSUNG
    assert holding["stock_name"] == "삼성전자"
    assert holding["quantity"] == 10
    assert holding["avg_price"] == 68_000
    assert holding["current_price"] == 71_000
    assert holding["price_status"] == "active"
    assert holding["purchase_value"] == 680_000
    assert holding["current_value"] == 710_000
    assert holding["unrealized_gain"] == 30_000
    assert holding["unrealized_gain_pct"] == 4.41  # 30,000 / 680,000 = 4.4118 %
    assert holding["day_change"] == (71_000 - 55_100) * 10 == 159_000
    assert holding["day_change_pct"] == round(159_000 / 551_000 * 100, 2)  # against yesterday's value
    assert holding["weight_pct"] == 100.0
    summary = result["summary"]
    assert summary["total_purchase_value"] == 680_000
    assert summary["total_current_value"] == 710_000
    assert summary["total_unrealized_gain"] == 30_000
    assert summary["total_unrealized_gain_pct"] == 4.41
    assert summary["sector_allocation"] == [{"sector": "전기전자", "value": 710_000, "weight_pct": 100.0}]
    listing = (await live.http.get("/v1/portfolios", headers=me.headers)).json()
    (item,) = listing["portfolios"]
    assert (item["holdings_count"], item["total_value"], item["unrealized_gain"]) == (1, 710_000, 30_000)
    assert item["unrealized_gain_pct"] == 4.41
    assert listing["meta"] == {"count": 1, "limit": 3}
    app_state(live.app).market_snapshot.apply_ticks([Tick(SAMSUNG, 53_400, D(2025, 1, 10))])  # as it was


async def test_moving_average_ledger_by_hand(live: Live) -> None:
    me = await make_account(live, "ledger@example.com")
    pid = await new_portfolio(live, me)
    await trade(
        live, me, pid, side="buy", stock_code=SAMSUNG, quantity=10, price=50_000, fees=100, trade_date="2024-06-03"
    )
    await trade(
        live, me, pid, side="buy", stock_code=SAMSUNG, quantity=5, price=53_000, fees=50, trade_date="2024-06-04"
    )
    # 15 shares cost 500,000 + 265,000 = 765,000: average 51,000 (fees are kept apart).
    sell = await trade(
        live, me, pid, side="sell", stock_code=SAMSUNG, quantity=6, price=54_000, fees=200, trade_date="2024-06-05"
    )
    # Cost out = 765,000 x 6 / 15 = 306,000; gain = 6 x 54,000 - 200 - 306,000 = 17,800.
    assert sell["realized_gain"] == 17_800
    (holding,) = (await detail(live, me, pid))["holdings"]
    assert (holding["quantity"], holding["purchase_value"], holding["avg_price"]) == (9, 459_000, 51_000)
    last = await trade(
        live, me, pid, side="sell", stock_code=SAMSUNG, quantity=9, price=52_000, fees=100, trade_date="2024-06-07"
    )
    assert last["realized_gain"] == 9 * 52_000 - 100 - 459_000 == 8_900  # selling all takes out the rest
    assert (await detail(live, me, pid))["holdings"] == []  # a closed position is not a holding
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=3, price=55_000, trade_date="2024-06-10")
    result = await detail(live, me, pid)
    (holding,) = result["holdings"]
    assert (holding["quantity"], holding["purchase_value"], holding["avg_price"]) == (3, 165_000, 55_000)
    assert holding["realized_gain"] == 17_800 + 8_900
    assert holding["fees"] == 450
    assert result["summary"]["total_realized_gain"] == 26_700
    assert result["summary"]["total_fees"] == 450
    assert holding["first_trade_date"] == "2024-06-03"


async def test_rounding_keeps_every_won(live: Live) -> None:
    me = await make_account(live, "rounding@example.com")
    pid = await new_portfolio(live, me)
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=1, price=50_000, trade_date="2024-06-03")
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=2, price=50_100, trade_date="2024-06-04")
    # 3 shares cost 150,200; selling 1 takes out 150,200 // 3 = 50,066 (the .67 stays with the 2 left).
    sell = await trade(
        live, me, pid, side="sell", stock_code=SAMSUNG, quantity=1, price=51_000, trade_date="2024-06-05"
    )
    assert sell["realized_gain"] == 51_000 - 50_066
    (holding,) = (await detail(live, me, pid))["holdings"]
    assert holding["purchase_value"] == 150_200 - 50_066 == 100_134
    assert holding["avg_price"] == 50_067.0


async def test_a_back_dated_entry_is_replayed_in_date_order(live: Live) -> None:
    me = await make_account(live, "backdated@example.com")
    pid = await new_portfolio(live, me)
    buy = await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=10, price=54_000, trade_date="2024-06-04")
    sell = await trade(
        live, me, pid, side="sell", stock_code=SAMSUNG, quantity=5, price=55_000, trade_date="2024-06-07"
    )
    assert sell["realized_gain"] == 5 * 55_000 - 5 * 54_000
    # An earlier, cheaper buy entered afterwards changes the average the sell was made at.
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=10, price=50_000, trade_date="2024-06-03")
    transactions = (await live.http.get(f"/v1/portfolios/{pid}/transactions", headers=me.headers)).json()
    assert [t["trade_date"] for t in transactions["transactions"]] == ["2024-06-03", "2024-06-04", "2024-06-07"]
    replayed = next(t for t in transactions["transactions"] if t["id"] == sell["id"])
    assert replayed["realized_gain"] == 5 * 55_000 - 5 * 52_000  # average (500,000 + 540,000) / 20 = 52,000
    # Removing the first buy would leave the sell selling more than... no: 10 held still covers 5. Removing the
    # 2025-01-02 buy too would not: the sell must fail and nothing change.
    first = transactions["transactions"][0]["id"]
    assert (await live.http.delete(f"/v1/portfolios/{pid}/transactions/{first}", headers=me.headers)).status_code == 204
    refused = await live.http.delete(f"/v1/portfolios/{pid}/transactions/{buy['id']}", headers=me.headers)
    assert_error(refused, 422, "INSUFFICIENT_QUANTITY")
    assert await ledger_size(live, pid) == 2


async def test_an_oversell_is_refused_and_stores_nothing(live: Live) -> None:
    me = await make_account(live, "oversell@example.com")
    pid = await new_portfolio(live, me)
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=3, price=53_800, trade_date="2025-01-02")
    body = {"side": "sell", "stock_code": SAMSUNG, "quantity": 4, "price": 55_000, "trade_date": "2025-01-06"}
    error = assert_error(
        await live.http.post(f"/v1/portfolios/{pid}/transactions", json=body, headers=me.headers),
        422,
        "INSUFFICIENT_QUANTITY",
    )
    assert error["details"] == {"stock_code": SAMSUNG, "trade_date": "2025-01-06", "held": 3}
    # Selling before the buy is an oversell too.
    early = {**body, "quantity": 1, "price": 53_000, "trade_date": "2024-12-30"}
    assert_error(
        await live.http.post(f"/v1/portfolios/{pid}/transactions", json=early, headers=me.headers),
        422,
        "INSUFFICIENT_QUANTITY",
    )
    assert await ledger_size(live, pid) == 1


async def test_every_bad_field_is_reported_at_once(live: Live) -> None:
    me = await make_account(live, "allatonce@example.com")
    pid = await new_portfolio(live, me)
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    holding = {"stock_code": SAMSUNG, "quantity": 0, "avg_price": 68_000, "purchase_date": tomorrow.isoformat()}
    response = await live.http.post(f"/v1/portfolios/{pid}/holdings", json=holding, headers=me.headers)
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert set(details) == {"quantity", "purchase_date"}
    assert details["purchase_date"][0].startswith("must be on or before ")
    trade = {"side": "buy", "stock_code": SAMSUNG, "quantity": 0, "price": 53_850, "trade_date": "2025-01-01"}
    response = await live.http.post(f"/v1/portfolios/{pid}/transactions", json=trade, headers=me.headers)
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {
        "quantity": ["must be >= 1"],
        "price": ["not on the tick grid: 53800 or 53900"],
        "trade_date": ["must be a KRX trading day"],
    }
    assert await ledger_size(live, pid) == 0


async def test_bad_trades(live: Live) -> None:
    me = await make_account(live, "badtrades@example.com")
    pid = await new_portfolio(live, me)
    url = f"/v1/portfolios/{pid}/transactions"
    good: dict[str, Any] = {
        "side": "buy",
        "stock_code": SAMSUNG,
        "quantity": 1,
        "price": 53_800,
        "trade_date": "2025-01-02",
    }
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"price": 53_850}, 400, "VALIDATION_ERROR", "price"),  # tick 100 between 50,000 and 200,000
        ({"price": 60_000}, 400, "VALIDATION_ERROR", "price"),  # the bar of 2025-01-02: 52,900 to 53,900
        ({"trade_date": "2025-01-01"}, 400, "VALIDATION_ERROR", "trade_date"),  # New Year's Day: market shut
        ({"trade_date": tomorrow}, 400, "VALIDATION_ERROR", "trade_date"),
        ({"stock_code": "0126Z0", "price": 1_990, "trade_date": "2024-06-28"}, 400, "VALIDATION_ERROR", "trade_date"),
        ({"stock_code": "000000"}, 404, "STOCK_NOT_FOUND", "stock_code"),
        ({"stock_code": "abc!"}, 400, "VALIDATION_ERROR", "stock_code"),
        ({"quantity": 0}, 400, "VALIDATION_ERROR", "quantity"),
        ({"quantity": 1.5}, 400, "VALIDATION_ERROR", "quantity"),
        ({"quantity": "1"}, 400, "VALIDATION_ERROR", "quantity"),
        ({"price": -100}, 400, "VALIDATION_ERROR", "price"),
        ({"fees": -1}, 400, "VALIDATION_ERROR", "fees"),
        ({"side": "short"}, 400, "VALIDATION_ERROR", "side"),
        ({"portfolio_id": pid}, 400, "VALIDATION_ERROR", "portfolio_id"),
    ]
    for change, status, code, key in cases:
        error = assert_error(await live.http.post(url, json={**good, **change}, headers=me.headers), status, code)
        assert key in error["details"], (change, error)
    assert await ledger_size(live, pid) == 0
    off_tick = assert_error(
        await live.http.post(url, json={**good, "price": 53_850}, headers=me.headers), 400, "VALIDATION_ERROR"
    )
    assert "53800 or 53900" in off_tick["details"]["price"][0]
    outside = await live.http.post(url, json={**good, "price": 60_000}, headers=me.headers)
    assert "52900 to 53900" in assert_error(outside, 400, "VALIDATION_ERROR")["details"]["price"][0]


async def test_halted_and_delisted_holdings_keep_their_last_price(live: Live) -> None:
    me = await make_account(live, "halted@example.com")
    pid = await new_portfolio(live, me)
    await trade(live, me, pid, side="buy", stock_code="123450", quantity=10, price=4_950, trade_date="2025-01-10")
    body = {"stock_code": "999990", "quantity": 5, "avg_price": 1_000, "purchase_date": "2010-01-04"}
    assert (await live.http.post(f"/v1/portfolios/{pid}/holdings", json=body, headers=me.headers)).status_code == 201
    holdings = {h["stock_code"]: h for h in (await detail(live, me, pid))["holdings"]}
    assert holdings["123450"]["price_status"] == "active"
    assert holdings["123450"]["current_price"] == 4_950
    # 999990 is delisted without a bar on file: valued at its cost, and it says so.
    delisted = holdings["999990"]
    assert delisted["price_status"] == "unpriced"
    assert delisted["current_price"] is None
    assert delisted["current_value"] == delisted["purchase_value"] == 5_000
    assert delisted["unrealized_gain"] == 0


async def test_tier_quotas(live: Live) -> None:
    free = await make_account(live, "freequota@example.com")
    for i in range(3):
        await new_portfolio(live, free, f"p{i}")
    refused = await live.http.post("/v1/portfolios", json={"name": "p3"}, headers=free.headers)
    error = assert_error(refused, 403, "TIER_LIMIT_EXCEEDED")
    assert error["details"]["limit"] == 3
    assert error["details"]["required_tier"] == "basic"
    pro = await make_account(live, "proquota@example.com", tier=Tier.PRO)
    for i in range(25):
        await new_portfolio(live, pro, f"p{i}")
    assert (await live.http.get("/v1/portfolios", headers=pro.headers)).json()["meta"] == {"count": 25, "limit": None}
    duplicate = await live.http.post("/v1/portfolios", json={"name": "p0"}, headers=pro.headers)
    assert_error(duplicate, 409, "PORTFOLIO_NAME_TAKEN")


async def test_parallel_writes_lose_nothing(live: Live) -> None:
    me = await make_account(live, "parallel@example.com")
    pid = await new_portfolio(live, me)
    prices = [50_000 + 100 * i for i in range(10)]

    async def buy(price: int) -> int:
        body = {"side": "buy", "stock_code": SAMSUNG, "quantity": 2, "price": price, "trade_date": "2024-06-03"}
        return (await live.http.post(f"/v1/portfolios/{pid}/transactions", json=body, headers=me.headers)).status_code

    assert await asyncio.gather(*(buy(p) for p in prices)) == [201] * 10
    (holding,) = (await detail(live, me, pid))["holdings"]
    assert holding["quantity"] == 20
    assert holding["purchase_value"] == 2 * sum(prices)

    async def sell() -> int:
        body = {"side": "sell", "stock_code": SAMSUNG, "quantity": 3, "price": 55_000, "trade_date": "2024-06-04"}
        return (await live.http.post(f"/v1/portfolios/{pid}/transactions", json=body, headers=me.headers)).status_code

    # 20 held: six sells of 3 fit, the seventh and eighth must not, whatever the interleaving.
    statuses = await asyncio.gather(*(sell() for _ in range(8)))
    assert sorted(statuses) == [201] * 6 + [422] * 2
    (holding,) = (await detail(live, me, pid))["holdings"]
    assert holding["quantity"] == 2
    assert await ledger_size(live, pid) == 16


async def test_the_ledger_pages_filters_and_exports(live: Live) -> None:
    me = await make_account(live, "export@example.com")
    pid = await new_portfolio(live, me)
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=5, price=54_000, trade_date="2024-12-23")
    await trade(live, me, pid, side="buy", stock_code="000660", quantity=2, price=190_000, trade_date="2025-01-09")
    await trade(
        live, me, pid, side="sell", stock_code=SAMSUNG, quantity=1, price=55_000, fees=10, trade_date="2025-01-06"
    )
    url = f"/v1/portfolios/{pid}/transactions"
    page = (await live.http.get(f"{url}?per_page=2", headers=me.headers)).json()
    assert page["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    sells = (await live.http.get(f"{url}?side=sell", headers=me.headers)).json()["transactions"]
    assert [t["price"] for t in sells] == [55_000]
    january = (await live.http.get(f"{url}?from_date=2025-01-01&to_date=2025-01-31", headers=me.headers)).json()
    assert [t["stock_code"] for t in january["transactions"]] == [SAMSUNG, "000660"]
    assert_error(
        await live.http.get(f"{url}?from_date=2025-02-01&to_date=2025-01-01", headers=me.headers),
        422,
        "INVALID_DATE_RANGE",
    )
    exported = await live.http.get(f"/v1/portfolios/{pid}/transactions.csv", headers=me.headers)
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "id,trade_date,side,stock_code,quantity,price,fees,realized_gain,created_at"
    assert len(lines) == 4
    holdings_csv = (await live.http.get(f"/v1/portfolios/{pid}/holdings.csv", headers=me.headers)).content
    rows = holdings_csv.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("stock_code,stock_name,sector,quantity,avg_price")
    assert len(rows) == 3
    assert any(row.startswith("000660,SK하이닉스") for row in rows)


async def test_patch_and_delete(live: Live) -> None:
    me = await make_account(live, "patch@example.com")
    pid = await new_portfolio(live, me)
    renamed = await live.http.patch(f"/v1/portfolios/{pid}", json={"description": "ISA"}, headers=me.headers)
    assert renamed.status_code == 200
    assert renamed.json()["description"] == "ISA"
    assert renamed.json()["name"] == "main"
    assert_error(await live.http.patch(f"/v1/portfolios/{pid}", json={}, headers=me.headers), 400, "VALIDATION_ERROR")
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=5, price=54_000, trade_date="2024-12-23")
    await trade(live, me, pid, side="sell", stock_code=SAMSUNG, quantity=2, price=54_000, trade_date="2024-12-24")
    corrected = await live.http.patch(
        f"/v1/portfolios/{pid}/holdings/{SAMSUNG}", json={"quantity": 7, "avg_price": 52_500}, headers=me.headers
    )
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["quantity"], corrected.json()["purchase_value"]) == (7, 367_500)
    assert corrected.json()["first_trade_date"] == "2024-12-23"
    assert corrected.json()["realized_gain"] == 0
    assert await ledger_size(live, pid) == 1
    assert (await live.http.delete(f"/v1/portfolios/{pid}/holdings/{SAMSUNG}", headers=me.headers)).status_code == 204
    assert (await detail(live, me, pid))["holdings"] == []
    assert await ledger_size(live, pid) == 0
    assert_error(
        await live.http.delete(f"/v1/portfolios/{pid}/holdings/{SAMSUNG}", headers=me.headers), 404, "HOLDING_NOT_FOUND"
    )
    assert (await live.http.delete(f"/v1/portfolios/{pid}", headers=me.headers)).status_code == 204
    assert_error(await live.http.get(f"/v1/portfolios/{pid}", headers=me.headers), 404, "PORTFOLIO_NOT_FOUND")


async def test_performance_from_daily_closes(live: Live) -> None:
    me = await make_account(live, "performance@example.com")
    pid = await new_portfolio(live, me)
    await trade(live, me, pid, side="buy", stock_code=SAMSUNG, quantity=10, price=53_800, trade_date="2024-12-23")
    await trade(live, me, pid, side="sell", stock_code=SAMSUNG, quantity=5, price=56_300, trade_date="2025-01-06")
    result = (await live.http.get(f"/v1/portfolios/{pid}/performance", headers=me.headers)).json()
    history = result["history"]
    # Every trading day with a close from 2024-12-23 to 2025-01-10: 12 of them (2024-12-31 and 2025-01-01 shut).
    assert len(history) == 12
    assert history[0]["date"] == "2024-12-23"
    assert history[-1]["date"] == "2025-01-10"
    assert history[0] == {
        "date": "2024-12-23", "value": 538_000, "buys": 538_000, "sells": 0,
        "daily_return_pct": 0.0, "cumulative_return_pct": 0.0,
    }  # fmt: skip
    # The sell at that day's close: r = (5 x 56,300 + 281,500) / (10 x 54,800) - 1 = 56,300 / 54,800 - 1.
    sold = next(day for day in history if day["date"] == "2025-01-06")
    assert sold["sells"] == 281_500
    assert sold["value"] == 281_500
    assert sold["daily_return_pct"] == round((56_300 / 54_800 - 1) * 100, 2)
    # Selling half moves no return: the time-weighted return is the price's, 53,400 / 53,800 - 1.
    assert result["time_weighted_return_pct"] == round((53_400 / 53_800 - 1) * 100, 2) == -0.74
    # Deepest fall of the index: from 56,300 (2025-01-06) to 53,400 (2025-01-10), 5.15 %.
    assert result["max_drawdown_pct"] == round((1 - 53_400 / 56_300) * 100, 2) == 5.15
    assert (result["peak_date"], result["trough_date"]) == ("2025-01-06", "2025-01-10")
    assert result["net_contributions"] == 538_000 - 281_500
    assert result["end_value"] == 5 * 53_400
    assert result["as_of"] == "2025-01-10"
    empty = await new_portfolio(live, me, "empty")
    nothing = (await live.http.get(f"/v1/portfolios/{empty}/performance", headers=me.headers)).json()
    assert nothing["history"] == []
    assert nothing["time_weighted_return_pct"] == 0.0
