"""Runs the accounts' enabled strategies on the feed's minute bars and routes their signals through the same
assess-and-place path as an order from the API (every risk check applies).

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
from sqlalchemy import select, update

from kstock.kit.clock import as_utc, utcnow
from kstock.market.models import Instrument
from kstock.sources import MinuteBar
from kstock.trading import events
from kstock.trading.costs import Side
from kstock.trading.market import MarketView, quote_from_simulator
from kstock.trading.models import TradingAccount, TradingSignal, TradingStrategy
from kstock.trading.orders import OrderType, TimeInForce
from kstock.trading.service import (
    OrderRequest,
    assess,
    lock_account,
    place_order,
    position_for,
    record_event,
)
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
            rows = list((await session.execute(select(TradingStrategy).where(TradingStrategy.enabled))).scalars())
            if not self.markets:
                self.markets = dict((await session.execute(select(Instrument.code, Instrument.market))).all())
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
                await session.execute(
                    update(TradingStrategy)
                    .where(TradingStrategy.id == row.id)
                    .values(enabled=False, error=error[:500], updated_at=utcnow())
                )
                account = await session.get(TradingAccount, row.account_id)
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
        market_time = quote.market_time
        async with engine.sessionmaker() as session:
            async with session.begin():
                account = await lock_account(session, row.account_id)
                held = await position_for(session, account.id, signal.code)
                quantity = row.quantity if signal.side == "buy" else (held.quantity if held else 0)
                outcome: str = "proposed"
                detail: dict[str, Any] = {}
                order_id: uuid.UUID | None = None
                if quantity <= 0:
                    outcome, detail = "rejected", {"why": "nothing held to sell"}
                else:
                    request = OrderRequest(
                        signal.code, Side(signal.side), OrderType.MARKET, quantity, None, TimeInForce.DAY
                    )
                    now = utcnow()
                    assessment = await assess(session, account, request, quote, engine.price, engine.schedule, now)
                    failed = [c.to_dict() for c in assessment.checks if not c.passed]
                    detail = {"order": request.to_dict(), "failed_checks": failed}
                    if not assessment.passed:
                        outcome = "rejected"
                    elif row.auto_execute:
                        order = await place_order(
                            session, account, assessment, engine.schedule, now, source="strategy", strategy_id=row.id
                        )
                        outcome, order_id = "executed", order.id
                signal_row = TradingSignal(
                    account_id=account.id,
                    strategy_id=row.id,
                    stock_code=signal.code,
                    side=signal.side,
                    price=signal.price_hint,
                    reason=signal.reason[:500],
                    outcome=outcome,
                    detail=detail,
                    order_id=order_id,
                    at=as_utc(market_time),
                )
                session.add(signal_row)
                events.emit(
                    session,
                    account.id,
                    "signal",
                    {
                        "strategy_id": str(row.id),
                        "stock_code": signal.code,
                        "side": signal.side,
                        "reason": signal.reason,
                        "outcome": outcome,
                        "order_id": str(order_id) if order_id else None,
                    },
                )
            pending = events.take_pending(session)
        self.signals += 1
        await events.publish(engine.broker, pending)
