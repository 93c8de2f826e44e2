"""The feed process: advance the simulator on its clock, publish what each step produced, store the bars.

One feed publishes for a whole deployment (``kstock feed``), or runs inside the API process under
``serve --demo``. Each step's messages go out in one ``publish_many`` (a single Redis round trip); a broker
outage is logged once and the feed keeps simulating, publishing again when the broker is back. Minute bars are
written every few seconds, the daily bars at the close.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.broker import Broker, channels
from kstock.config import Settings
from kstock.feed import store
from kstock.feed.payloads import step_messages
from kstock.feed.sim import SimClock, Simulator
from kstock.kit.calendar import OPEN, next_trading_day, session_time, today_kst
from kstock.kit.clock import iso_utc
from kstock.sources import MinuteBar, Step

log = structlog.get_logger("kstock.feed")

_MINUTE_BARS_EVERY_S = 5.0
MINUTE_BARS_KEEP_DAYS = 5


class FeedRunner:
    def __init__(
        self, simulator: Simulator, clock: SimClock, broker: Broker, engine: AsyncEngine | None, step_s: float
    ) -> None:
        self.simulator = simulator
        self.clock = clock
        self.broker = broker
        self.engine = engine
        self.step_s = step_s
        self.started_at = time.time()
        self.steps = 0
        self.trades = 0
        self.published = 0
        self.last_step_at: float | None = None
        self._minute_bars: list[MinuteBar] = []
        self._minute_bars_at = time.monotonic()
        self._broker_down = False
        self._status_at = 0.0
        self.status_every_s = 1.0  # wall-clock seconds between retained ``feed.status`` messages
        # Called with every step once it is published: the paper-trading engine matches orders here.
        self.listeners: list[Callable[[Step], Awaitable[None]]] = []
        self.trading: Any = None  # the TradingEngine beside this feed, for its status

    @classmethod
    async def from_database(cls, engine: AsyncEngine, broker: Broker, settings: Settings) -> FeedRunner:
        """A simulator over every listed stock, starting from its last stored close.

        The demo clock starts at the open of the trading day after the newest stored bar and never closes; the
        real clock follows KRX hours in Seoul.
        """
        instruments, last_day = await store.instruments(engine)
        if settings.feed_demo_clock:
            first_day = next_trading_day(last_day or today_kst())
            clock = SimClock(session_time(first_day, OPEN), settings.feed_speed, demo=True)
        else:
            clock = SimClock(dt.datetime.now(dt.UTC), settings.feed_speed, demo=False)
        # Faster than 10x, fewer orders per simulated second keep the simulator's work per wall second bounded (a
        # quieter tape, the same rules).
        activity = min(1.0, 10.0 / settings.feed_speed)
        simulator = Simulator(instruments, seed=settings.feed_seed, start=clock.now(), activity=activity)
        log.info("feed_ready", stocks=len(instruments), market_time=iso_utc(clock.now()), speed=settings.feed_speed)
        return cls(simulator, clock, broker, engine, settings.feed_step_ms / 1000)

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {
            "source": "simulator",
            "phase": self.simulator.phase.value,
            "market_time": iso_utc(self.clock.now()),
            "speed": self.clock.speed,
            "steps": self.steps,
            "trades": self.trades,
            "last_step_age_s": None if self.last_step_at is None else round(now - self.last_step_at, 3),
            "uptime_s": round(now - self.started_at, 1),
            "trading_engine": None if self.trading is None else self.trading.status(),
        }

    async def run(self) -> None:
        """Step forever at ``step_s`` of wall time; one failed step is logged and the next one goes on."""
        next_at = time.monotonic()
        while True:
            next_at += self.step_s
            try:
                await self.step_once()
            except Exception:
                log.exception("feed_step_failed")
            delay = next_at - time.monotonic()
            if delay < 0:  # behind (a slow database write): skip ahead instead of bursting
                next_at = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)

    async def step_once(self) -> Step:
        step = self.simulator.advance(self.clock.now())
        self.steps += 1
        self.trades += len(step.trades)
        self.last_step_at = time.time()
        await self._publish(step)
        self._minute_bars.extend(step.minute_bars)
        if self.engine is not None:
            if step.daily_bars:
                await self._store_minute_bars()
                await store.write_daily_bars(self.engine, step.daily_bars)
                log.info("daily_bars_written", trade_date=str(step.daily_bars[0].trade_date), bars=len(step.daily_bars))
            elif time.monotonic() - self._minute_bars_at >= _MINUTE_BARS_EVERY_S:
                await self._store_minute_bars()
        for listener in self.listeners:
            try:
                await listener(step)
            except Exception:  # a listener's failure never stops the market
                log.exception("feed_listener_failed")
        return step

    def attach_trading(self, settings: Settings) -> None:
        """Run the paper-trading engine on this feed's steps (one per deployment: the feed's process)."""
        if self.engine is None or not settings.trading_engine:
            return
        from kstock.db.engine import create_sessionmaker
        from kstock.trading.engine import TradingEngine
        from kstock.trading.strategy_runner import StrategyRunner

        trading = TradingEngine(create_sessionmaker(self.engine), self.broker, settings, simulator=self.simulator)
        trading.strategies = StrategyRunner(trading)
        self.trading = trading
        self.listeners.append(trading.on_step)

    async def _store_minute_bars(self) -> None:
        bars, self._minute_bars = self._minute_bars, []
        self._minute_bars_at = time.monotonic()
        if bars and self.engine is not None:
            await store.write_minute_bars(self.engine, bars, MINUTE_BARS_KEEP_DAYS)

    async def _publish(self, step: Step) -> None:
        messages = step_messages(step)
        if time.monotonic() - self._status_at >= self.status_every_s:
            self._status_at = time.monotonic()
            messages.append((channels.FEED_STATUS, orjson.dumps(self.status())))
        if not messages:
            return
        try:
            await self.broker.publish_many(messages, retain=True)
        except Exception as exc:  # the broker is down: keep the market going, publish again when it is back
            if not self._broker_down:
                log.warning("feed_broker_unavailable", error=str(exc))
            self._broker_down = True
            return
        if self._broker_down:
            log.info("feed_broker_recovered")
            self._broker_down = False
        self.published += len(messages)


async def run_feed(settings: Settings) -> None:
    """``kstock feed``: the feed as its own process until SIGINT/SIGTERM."""
    import signal

    from kstock.broker import create_broker
    from kstock.db.engine import create_engine

    engine = create_engine(settings)
    broker = create_broker(settings.redis_url, prefix=settings.redis_prefix)
    await broker.start()
    task: asyncio.Task[None] | None = None
    try:
        runner = await FeedRunner.from_database(engine, broker, settings)
        runner.attach_trading(settings)
        task = asyncio.create_task(runner.run())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        await task
    except asyncio.CancelledError:
        log.info("feed_stopped")
    finally:
        await broker.close()
        await engine.dispose()
