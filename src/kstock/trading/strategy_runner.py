"""Runs the accounts' enabled strategies on the feed's minute bars and routes their signals through the order desk,
like an order from the API (:meth:`kstock.trading.desk.Desk.route_signal`: every risk check applies).

A buy signal buys the strategy's ``quantity`` at the market; a sell signal sells what the account holds of the
stock. With ``auto_execute`` the order is placed (outcome ``executed``, or ``rejected`` with the failed checks);
without it the signal is only recorded (``proposed``) for the owner to act on. Each signal is kept in
``trading_signals`` and announced on the account's channel.

A strategy that raises (bad data, a bug) is disabled with its error recorded and announced; the engine and the
other strategies go on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog

from kstock.sources import MinuteBar
from kstock.trading import events, repository
from kstock.trading.accounts import record_event
from kstock.trading.market import MarketView, quote_from_simulator
from kstock.trading.models import TradingStrategy
from kstock.trading.strategies import Signal, Strategy, StrategyError, create_strategy

if TYPE_CHECKING:
    from kstock.trading.engine import TradingEngine

log = structlog.get_logger("kstock.trading.strategies")


class StrategyRunner:
    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        self.running: dict[uuid.UUID, tuple[dt.datetime, TradingStrategy, Strategy[Any, Any]]] = {}
        self.markets: dict[str, str] = {}
        self.signals = 0

    async def load(self) -> None:
        """The enabled strategies; one whose row changed is rebuilt (its state starts afresh)."""
        async with self.engine.sessionmaker() as session:
            rows = await repository.enabled_strategies(session)
            if not self.markets:
                self.markets = await repository.instrument_markets(session)
        running: dict[uuid.UUID, tuple[dt.datetime, TradingStrategy, Strategy[Any, Any]]] = {}
        for row in rows:
            current = self.running.get(row.id)
            if current is not None and current[0] == row.updated_at:
                running[row.id] = current
                continue
            try:
                running[row.id] = (row.updated_at, row, create_strategy(row.name, row.params, row.codes))
            except (KeyError, ValueError) as exc:
                await self.disable(row, f"cannot be built: {exc}")
        self.running = running

    async def on_bars(self, bars: Sequence[MinuteBar], engine: TradingEngine) -> None:
        await self.load()
        for strategy_id, (_, row, strategy) in list(self.running.items()):
            signals: list[Signal] = []
            try:
                for bar in bars:
                    if bar.code in strategy.codes:
                        signals.extend(strategy.on_bar(bar.code, bar))
            except StrategyError as exc:
                self.running.pop(strategy_id, None)
                await self.disable(row, str(exc))
                continue
            for signal in signals:
                try:
                    await self.route(row, signal)
                except Exception as exc:
                    engine.stats.errors += 1
                    log.exception("strategy_signal_failed", strategy_id=str(row.id))
                    self.running.pop(strategy_id, None)
                    await self.disable(row, f"signal handling failed: {type(exc).__name__}: {exc}")
                    break

    async def disable(self, row: TradingStrategy, error: str) -> None:
        log.warning("strategy_disabled", strategy_id=str(row.id), error=error)
        async with self.engine.sessionmaker() as session:
            async with session.begin():
                await repository.disable_strategy(session, row.id, error[:500])
                account = await repository.account_of(session, row.account_id)
                if account is not None:
                    record_event(
                        session, account, "strategy_disabled", {"strategy_id": str(row.id), "error": error[:500]}
                    )
            pending = events.take_pending(session)
        await events.publish(self.engine.broker, pending)

    async def route(self, row: TradingStrategy, signal: Signal) -> None:
        """One signal through the order path: placed, rejected or proposed, and recorded."""
        engine = self.engine
        market = self.markets.get(signal.code, "KOSPI")
        if engine.simulator is not None:
            quote = quote_from_simulator(engine.simulator, signal.code, market, engine.simulator.now)
        else:  # an engine without its own simulator prices against the feed's retained messages
            quote = await MarketView(engine.broker, None).quote(signal.code, market)
        async with engine.sessionmaker() as session:
            async with session.begin():
                await engine.desk.route_signal(session, row, signal, quote)
            pending = events.take_pending(session)
        self.signals += 1
        await events.publish(engine.broker, pending)
