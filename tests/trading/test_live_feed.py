"""End to end with the real feed: the simulator publishes through the app's broker, the API prices orders against
its book, and the engine beside the simulator fills a resting order from the simulated tape.

The feed is stepped by hand on a clock that moves 10 simulated seconds per step, so the run is deterministic."""

from __future__ import annotations

import orjson
import pytest

from kstock.feed.runner import FeedRunner
from kstock.feed.sim import SimClock
from kstock.identity.principal import Tier
from kstock.kit.krx import tick_size
from tests.support.accounts import make_account
from tests.support.app import app_state, broker_of, running
from tests.support.databases import DatabaseFactory, stream_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


class _Ticker:
    """A monotonic clock that moves ``step`` seconds per reading."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_orders_fill_against_the_simulated_market(db_factory: DatabaseFactory) -> None:
    settings = await stream_settings(db_factory, "trading_live_feed", feed_seed=3, trading_poll_ms=20)
    async with running(settings) as live:
        broker = broker_of(live.app)
        runner = await FeedRunner.from_database(app_state(live.app).engine, broker, settings)
        runner.attach_trading(settings)
        runner.status_every_s = 0.0
        runner.clock = SimClock(runner.clock.now(), 1.0, demo=True, monotonic=_Ticker(10.0))
        for _ in range(30):  # five simulated minutes of trading
            await runner.step_once()
        trades = [runner.simulator.last_trade(c) for c in runner.simulator.codes]
        code = max((t for t in trades if t is not None), key=lambda t: t.volume).code

        user = await make_account(live, "live-feed@example.com", tier=Tier.PRO)
        created = await live.http.post(
            "/v1/trading/accounts", json={"name": "demo", "starting_cash": 1_000_000_000}, headers=user.headers
        )
        base = f"/v1/trading/accounts/{created.json()['id']}"
        await live.http.put(
            f"{base}/config/risk",
            json={"max_position_weight_pct": 100.0, "max_orders_per_second": 100},
            headers=user.headers,
        )

        async def place(order: dict[str, object]) -> dict[str, object]:
            previewed = (await live.http.post(f"{base}/orders/preview", json=order, headers=user.headers)).json()
            assert previewed["passed"], previewed["checks"]
            assert previewed["market"]["feed"] is True
            response = await live.http.post(
                f"{base}/orders/execute", json={"preview_id": previewed["preview_id"]}, headers=user.headers
            )
            assert response.status_code == 201, response.text
            body: dict[str, object] = response.json()
            return body

        bought = await place({"stock_code": code, "side": "buy", "order_type": "market", "quantity": 1})
        assert bought["status"] == "filled"

        # A limit buy a tick below the best ask rests until the tape trades at or through it.
        message = await broker.latest(f"orderbook:{code}")
        assert message is not None
        book = orjson.loads(message.data)
        ask = book["asks"][0]["price"]
        limit = ask - tick_size(ask - 1)
        resting = await place(
            {"stock_code": code, "side": "buy", "order_type": "limit", "quantity": 1, "limit_price": limit}
        )
        assert (resting["status"], resting["filled_quantity"]) == ("open", 0)
        status = "open"
        for _ in range(720):  # up to two simulated hours
            await runner.step_once()
            status = (await live.http.get(f"{base}/orders/{resting['id']}", headers=user.headers)).json()["status"]
            if status != "open":
                break
        assert status == "filled"
        order = (await live.http.get(f"{base}/orders/{resting['id']}", headers=user.headers)).json()
        assert order["average_fill_price"] == limit
        assert order["fills"][0]["phase"] == "continuous"
        positions = (await live.http.get(base, headers=user.headers)).json()["positions"]
        assert positions[0]["quantity"] == 2
        assert runner.trading.stats.errors == 0
        assert runner.status()["trading_engine"]["fills"] >= 1
