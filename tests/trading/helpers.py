"""For the trading tests (the app is the root ``live`` fixture): a market set by publishing the feed's own messages
through the app's real broker, and an engine driven with hand-written prints."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from kstock.feed.payloads import orderbook_data, price_data, ticks_data
from kstock.kit.calendar import KST
from kstock.sources import OrderBook, Phase, Step, Trade
from kstock.trading.engine import TradingEngine
from tests.support.accounts import Account
from tests.support.app import Live, app_state, broker_of, stock_detail

# A Monday in session: 10:00 in Seoul.
DAY = dt.date(2026, 11, 23)
MARKET_TIME = dt.datetime(2026, 11, 23, 10, 0, tzinfo=KST)
BASE = 70_000  # 005930's base price (yesterday's close): band 49,000 to 91,000
CODE = "005930"


async def set_market(
    live: Live,
    code: str = CODE,
    *,
    asks: Sequence[tuple[int, int]] = ((71_000, 100), (71_100, 100)),
    bids: Sequence[tuple[int, int]] = ((70_900, 100), (70_800, 100)),
    last: int = 71_000,
    base: int = BASE,
    phase: Phase = Phase.CONTINUOUS,
    at: dt.datetime = MARKET_TIME,
    halted: bool = False,
) -> None:
    """Publish, retained, what the feed would: the market's clock and phase, the stock's book and last print."""
    book = OrderBook(code, tuple(asks), tuple(bids), at, phase, halted=halted)
    trade = _trade(code, last, 1, base, at, phase)
    status = {"source": "simulator", "phase": phase.value, "market_time": at.isoformat(), "speed": 1.0}
    broker = broker_of(live.app)
    await broker.publish_many(
        [
            ("feed.status", orjson.dumps(status)),
            (f"orderbook:{code}", orderbook_data(book)),
            (f"price:{code}", price_data(trade)),
        ],
        retain=True,
    )
    await set_price(live, code, last, base, at)


async def set_price(live: Live, code: str, last: int, base: int = BASE, at: dt.datetime = MARKET_TIME) -> None:
    """The live price every instance values positions at (the feed's ``ticks``), applied before returning."""
    await broker_of(live.app).publish("ticks", ticks_data([_trade(code, last, 1, base, at, Phase.CONTINUOUS)]))
    for _ in range(200):
        if stock_detail(live.app, code)["latest_price"]["close_price"] == last:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the snapshot never took {code} at {last}")


def _trade(code: str, price: int, quantity: int, base: int, at: dt.datetime, phase: Phase) -> Trade:
    change = price - base
    return Trade(code, price, quantity, quantity, price * quantity, change, round(100 * change / base, 2), at, phase)


def prints(
    *rows: tuple[int, int], code: str = CODE, at: dt.datetime = MARKET_TIME, phase: Phase = Phase.CONTINUOUS
) -> list[Trade]:
    """Trades on the tape: (price, quantity) each, one second apart."""
    return [
        _trade(code, price, qty, BASE, at + dt.timedelta(seconds=i + 1), phase) for i, (price, qty) in enumerate(rows)
    ]


def step(trades: Sequence[Trade] = (), *, now: dt.datetime = MARKET_TIME, **kwargs: Any) -> Step:
    fields: dict[str, Any] = {
        "trades": list(trades),
        "books": [],
        "minute_bars": [],
        "daily_bars": [],
        "phase": Phase.CONTINUOUS,
        "now": now,
        "day_started": None,
        **kwargs,
    }
    return Step(**fields)


def engine_for(live: Live) -> TradingEngine:
    return TradingEngine(app_state(live.app).sessionmaker, broker_of(live.app), live.settings)


FAST = {"max_orders_per_second": 100}  # the most allowed: tests place orders faster than the default one a second


async def new_account(
    live: Live, user: Account, name: str | None = None, cash: int = 100_000_000, *, risk: dict[str, Any] | None = FAST
) -> str:
    """A new account; ``risk`` replaces its risk limits (None: the defaults)."""
    response = await live.http.post(
        "/v1/trading/accounts",
        json={"name": name or f"acct-{uuid.uuid4().hex[:8]}", "starting_cash": cash},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    if risk is not None:
        response = await live.http.put(
            f"/v1/trading/accounts/{account_id}/config/risk", json=risk, headers=user.headers
        )
        assert response.status_code == 200, response.text
    return account_id


async def preview(live: Live, user: Account, account_id: str, **order: Any) -> dict[str, Any]:
    body = {"stock_code": CODE, "side": "buy", "order_type": "market", "quantity": 10, "time_in_force": "day", **order}
    response = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/preview", json=body, headers=user.headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def place(live: Live, user: Account, account_id: str, **order: Any) -> dict[str, Any]:
    previewed = await preview(live, user, account_id, **order)
    assert previewed["passed"], previewed["checks"]
    response = await live.http.post(
        f"/v1/trading/accounts/{account_id}/orders/execute",
        json={"preview_id": previewed["preview_id"]},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def account(live: Live, user: Account, account_id: str) -> dict[str, Any]:
    response = await live.http.get(f"/v1/trading/accounts/{account_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def failed(checks: list[dict[str, Any]]) -> set[str]:
    return {c["name"] for c in checks if not c["passed"]}
