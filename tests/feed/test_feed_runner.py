"""The feed over a real database and broker: what it publishes per step, and the bars it stores at the close."""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import func, select

from kstock.broker import Message, create_broker
from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.feed.payloads import orderbook_data
from kstock.feed.runner import FeedRunner
from kstock.feed.sim import SimClock
from kstock.kit.calendar import KST
from kstock.kit.krx import is_on_tick
from kstock.market.models import DailyBar, MinuteBar
from kstock.market.versions import MARKET_DATA, current_version
from kstock.sources import OrderBook, Phase
from tests.support.databases import DatabaseFactory, stream_settings


def test_orderbook_payload_has_running_totals_and_the_spread() -> None:
    book = OrderBook(
        "005930",
        asks=((75_100, 5_000), (75_200, 1_000)),
        bids=((75_000, 2_000), (74_900, 3_000)),
        time=dt.datetime(2025, 11, 9, 10, 30, 15, 123_000, tzinfo=KST),
        phase=Phase.CONTINUOUS,
    )
    data = orjson.loads(orderbook_data(book))
    assert data["asks"] == [
        {"price": 75_100, "volume": 5_000, "total": 5_000},
        {"price": 75_200, "volume": 1_000, "total": 6_000},
    ]
    assert data["bids"][1] == {"price": 74_900, "volume": 3_000, "total": 5_000}
    assert data["spread"] == 100
    assert data["spread_pct"] == 0.13  # 100 / 75,050 (the mid price)
    assert data["timestamp"] == "2025-11-09T01:30:15.123Z"


async def test_a_simulated_day_publishes_ticks_and_writes_its_bars(db_factory: DatabaseFactory) -> None:
    settings: Settings = await stream_settings(db_factory, "feed_day", feed_seed=5)
    engine = create_engine(settings)
    broker = create_broker(None)
    received: list[Message] = []
    broker.set_handler(received.append)
    await broker.start()
    try:
        runner = await FeedRunner.from_database(engine, broker, settings)
        codes = runner.simulator.codes
        await broker.subscribe(
            "ticks", "feed.status", *(f"price:{c}" for c in codes), *(f"orderbook:{c}" for c in codes)
        )
        async with engine.connect() as connection:
            version = await current_version(connection, MARKET_DATA)
        start = runner.clock.now()
        # Drive the simulator by hand through a whole session, 30 simulated seconds a step.
        runner.clock = SimClock(start, 1.0, demo=True, monotonic=_Ticker(30.0))
        days = []
        for _ in range(900):
            step = await runner.step_once()
            if step.daily_bars:
                days.append(step.daily_bars[0].trade_date)
                break
        assert days, "the session never reached its close"
        prices = [m for m in received if m.channel.startswith("price:")]
        assert prices
        assert all(is_on_tick(orjson.loads(m.data)["current_price"]) for m in prices)
        assert any(m.channel.startswith("orderbook:") for m in received)
        assert any(m.channel == "ticks" for m in received)
        status = [orjson.loads(m.data) for m in received if m.channel == "feed.status"]
        assert status
        assert status[-1]["source"] == "simulator"
        async with engine.connect() as connection:
            assert await current_version(connection, MARKET_DATA) == version + 1
            stored = (await connection.execute(select(func.count()).where(DailyBar.trade_date == days[0]))).scalar()
            assert stored == len(codes)
            minutes = (await connection.execute(select(func.count()).select_from(MinuteBar))).scalar()
            assert minutes
            assert minutes > 0
    finally:
        await broker.close()
        await engine.dispose()


class _Ticker:
    """A monotonic clock that moves ``step`` seconds per reading."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now
