"""Another user's portfolio, holding or transaction answers 404 on every route, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from kstock.identity.principal import Tier
from tests.portfolio.helpers import detail, new_portfolio, trade
from tests.support.accounts import make_account
from tests.support.app import Live, assert_error

SAMSUNG = "005930"


def routes(pid: str, tid: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/v1/portfolios/{pid}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"name": "mine now"}),
        ("DELETE", base, None),
        (
            "POST",
            f"{base}/holdings",
            {"stock_code": SAMSUNG, "quantity": 1, "avg_price": 1, "purchase_date": "2025-01-02"},
        ),
        ("PATCH", f"{base}/holdings/{SAMSUNG}", {"quantity": 1}),
        ("DELETE", f"{base}/holdings/{SAMSUNG}", None),
        (
            "POST",
            f"{base}/transactions",
            {"side": "sell", "stock_code": SAMSUNG, "quantity": 1, "price": 55_000, "trade_date": "2025-01-06"},
        ),
        ("GET", f"{base}/transactions", None),
        ("DELETE", f"{base}/transactions/{tid}", None),
        ("GET", f"{base}/performance", None),
        ("GET", f"{base}/holdings.csv", None),
        ("GET", f"{base}/transactions.csv", None),
    ]


async def test_every_route_hides_another_users_portfolio(live: Live) -> None:
    owner = await make_account(live, "owner@example.com")
    intruder = await make_account(live, "intruder@example.com", tier=Tier.PRO)
    pid = await new_portfolio(live, owner)
    bought = await trade(
        live, owner, pid, side="buy", stock_code=SAMSUNG, quantity=5, price=53_800, trade_date="2025-01-02"
    )
    before = await detail(live, owner, pid)
    for method, url, body in routes(pid, bought["id"]):
        response = await live.http.request(method, url, json=body, headers=intruder.headers)
        assert_error(response, 404, "PORTFOLIO_NOT_FOUND")
    assert (await live.http.get("/v1/portfolios", headers=intruder.headers)).json()["portfolios"] == []
    after = await detail(live, owner, pid)
    assert {**after, "updated_at": None} == {**before, "updated_at": None}
    # A missing portfolio answers the same.
    missing = await live.http.get(f"/v1/portfolios/{uuid.uuid4()}", headers=intruder.headers)
    assert_error(missing, 404, "PORTFOLIO_NOT_FOUND")
    # The owner's transaction id under the intruder's own portfolio is just unknown there.
    own = await new_portfolio(live, intruder)
    stolen = await live.http.delete(f"/v1/portfolios/{own}/transactions/{bought['id']}", headers=intruder.headers)
    assert_error(stolen, 404, "TRANSACTION_NOT_FOUND")
    assert (
        len((await live.http.get(f"/v1/portfolios/{pid}/transactions", headers=owner.headers)).json()["transactions"])
        == 1
    )


async def test_every_route_needs_a_signed_in_user(live: Live) -> None:
    some = str(uuid.uuid4())
    for method, url, body in [("GET", "/v1/portfolios", None), ("POST", "/v1/portfolios", {"name": "x"})] + routes(
        some, some
    ):
        assert_error(await live.http.request(method, url, json=body), 401, "UNAUTHORIZED")
