"""Every trading route answers exactly what its response model declares: each field declared is sent with its
declared type and nullability, and nothing undeclared is sent (checked against the served OpenAPI document with
every object closed to undeclared keys)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import jsonschema_rs
import pytest
import pytest_asyncio

from kstock.identity.principal import Tier
from kstock.sources import MinuteBar
from kstock.trading.strategy_runner import StrategyRunner
from tests.support.accounts import Account, make_account
from tests.support.app import Live
from tests.trading.helpers import CODE, MARKET_TIME, engine_for, new_account, place, set_market, step

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trader(live: Live) -> Account:
    return await make_account(live, "responses@example.com", tier=Tier.PRO)


def _closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to any other key."""
    if isinstance(node, list):
        return [_closed(value) for value in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and closed.get("additionalProperties", True) is True:
        closed["additionalProperties"] = False
    return closed


class Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _closed(copy.deepcopy(document["components"]))
        self.checked: set[tuple[str, str]] = set()

    def check(self, method: str, template: str, response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        operation = self.document["paths"][f"/v1/trading{template}"][method]
        schema = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
        body: dict[str, Any] = response.json()
        validator = jsonschema_rs.Draft202012Validator({**_closed(schema), "components": self.components})
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, (method, template, errors)
        self.checked.add((method, template))
        return body


def _bar(close: int, minute: int) -> MinuteBar:
    start = MARKET_TIME + dt.timedelta(minutes=minute)
    return MinuteBar(CODE, start, close, close, close, close, 100, close * 100)


async def test_every_trading_route_sends_exactly_its_model(live: Live, trader: Account) -> None:
    document = Document((await live.http.get("/openapi.json")).json())
    http, headers = live.http, trader.headers
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    document.check("get", "/status", await http.get("/v1/trading/status", headers=headers))
    document.check("get", "/strategies", await http.get("/v1/trading/strategies", headers=headers))

    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    at = "/accounts/{account_id}"
    document.check("get", f"{at}/status", await http.get(f"{base}/status", headers=headers))
    document.check("get", f"{at}/performance", await http.get(f"{base}/performance", headers=headers))
    await place(live, trader, account_id, quantity=10)
    await place(live, trader, account_id, side="sell", quantity=4)  # a realized P&L
    await place(live, trader, account_id, order_type="limit", limit_price=65_000, quantity=5)  # resting

    created = await http.post(
        f"{base}/strategies",
        json={"name": "ma_cross", "params": {"fast": 1, "slow": 2}, "stock_codes": [CODE], "quantity": 5},
        headers=headers,
    )
    strategy = document.check("post", f"{at}/strategies", created)
    engine = engine_for(live)
    engine.strategies = StrategyRunner(engine)
    for minute, close in enumerate((70_000, 69_000, 71_000)):  # a buy signal, proposed
        await engine.on_step(step(minute_bars=[_bar(close, minute)]))
    document.check("get", f"{at}/strategies", await http.get(f"{base}/strategies", headers=headers))
    patched = await http.patch(f"{base}/strategies/{strategy['id']}", json={"enabled": False}, headers=headers)
    document.check("patch", f"{at}/strategies/{{strategy_id}}", patched)

    put = await http.put(f"{base}/config/risk", json={"max_orders_per_second": 100}, headers=headers)
    document.check("put", f"{at}/config/risk", put)
    document.check("get", f"{at}/config", await http.get(f"{base}/config", headers=headers))
    override = await http.post(
        f"{base}/risk/override", json={"reason": "checking the answers", "expires_in_s": 3600}, headers=headers
    )
    document.check("post", f"{at}/risk/override", override)

    for route in ("status", "portfolio", "risk", "trades", "performance", "signals", "events"):
        body = document.check("get", f"{at}/{route}", await http.get(f"{base}/{route}", headers=headers))
        if route in ("trades", "signals", "events"):
            assert body[route], route  # the lists' items were checked too
    plan = document.check("post", f"{at}/stop", await http.post(f"{base}/stop", json={}, headers=headers))
    assert plan["cancel_orders"]
    assert plan["close_positions"]
    done = await http.post(f"{base}/stop", json={"confirm": True}, headers=headers)
    assert document.check("post", f"{at}/stop", done)["closing_orders"]
    document.check("post", f"{at}/start", await http.post(f"{base}/start", headers=headers))

    # The routes that once declared an open document, each checked at least once above.
    assert len(document.checked) == 17
