"""The paper-trading engine: runs beside the simulator in the feed process (``kstock feed``, or in-process under
``serve --demo``), so exactly one process matches orders however many API instances there are.

Each simulation step it:

1. picks up newly placed resting orders (every ``trading_poll_ms``; the database is the truth, so a restart
   loses nothing: open orders are reloaded and go on matching);
2. fills resting orders from the step's prints (:func:`kstock.trading.pricing.match_limit_order`): a resting buy
   when a print is at or below its limit, a sell at or above, at its limit during continuous trading and at the
   single price in an auction; orders of a stock share each print in time priority, at most
   ``trading_participation_pct`` of it;
3. at the start of a trading day lifts automatic restrictions and takes each account's start-of-day equity; at
   the close expires the day's open orders;
4. on each minute bar runs the accounts' strategies and re-evaluates the risk state of accounts holding positions.

The fills of one account in one step are written in one transaction under the account's lock, after re-reading
each order: a cancel that got there first wins.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kstock.broker import Broker
from kstock.config import Settings
from kstock.sources import Phase, Step, Trade
from kstock.trading import events, repository
from kstock.trading.accounts import after_activity, cost_schedule, equity_of, lock_account, record_event
from kstock.trading.costs import Side
from kstock.trading.desk import Desk, RestingFill
from kstock.trading.models import TradingAccount
from kstock.trading.pricing import match_limit_order
from kstock.trading.risk_state import AccountState, start_of_day

log = structlog.get_logger("kstock.trading.engine")


@dataclass(slots=True)
class Resting:
    """An open order as the matcher keeps it."""

    id: uuid.UUID
    account_id: uuid.UUID
    code: str
    side: Side
    limit: int | None
    remaining: int
    trade_date: dt.date


@dataclass(slots=True)
class EngineStats:
    fills: int = 0
    fill_transactions: int = 0
    expired: int = 0
    errors: int = 0
    reloads: int = 0
    open_orders: int = 0
    started_at: float = field(default_factory=time.time)


class TradingEngine:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker | None,
        settings: Settings,
        simulator: Any = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.broker = broker
        self.simulator = simulator
        self.schedule = cost_schedule(settings)
        self.participation = settings.trading_participation_pct
        self.poll_s = settings.trading_poll_ms / 1000
        self.resting: dict[str, list[Resting]] = {}
        self.last_prices: dict[str, int] = {}
        self.stats = EngineStats()
        self.desk = Desk(self.schedule, self.price)
        self.strategies: Any = None  # kstock.trading.strategy_runner.StrategyRunner, set by the feed
        self._loaded_at = float("-inf")
        self._last_minute: dt.datetime | None = None

    def price(self, code: str) -> int | None:
        return self.last_prices.get(code)

    def status(self) -> dict[str, Any]:
        return {
            "open_orders": sum(len(v) for v in self.resting.values()),
            "fills": self.stats.fills,
            "expired": self.stats.expired,
            "errors": self.stats.errors,
        }

    # -- the step ----------------------------------------------------------------------------------------------

    async def on_step(self, step: Step) -> None:
        for trade in step.trades:
            self.last_prices[trade.code] = trade.price
        if step.day_started is not None:
            await self.start_day(step.day_started, step.now)
        if time.monotonic() - self._loaded_at >= self.poll_s:
            await self.reload()
        if step.trades:
            await self.match(step.trades)
        if step.daily_bars:
            await self.close_day(step.daily_bars[0].trade_date, step.now)
        if step.minute_bars:
            if self.strategies is not None:
                await self.strategies.on_bars(step.minute_bars, self)
            await self.evaluate_risk(step.now)

    async def reload(self) -> None:
        """Every open order, in time priority per stock."""
        async with self.sessionmaker() as session:
            rows = await repository.resting_orders(session)
        resting: dict[str, list[Resting]] = defaultdict(list)
        for order_id, account_id, code, side, limit, remaining, day in rows:
            resting[code].append(Resting(order_id, account_id, code, Side(side), limit, remaining, day))
        self.resting = dict(resting)
        self.stats.open_orders = len(rows)
        self.stats.reloads += 1
        self._loaded_at = time.monotonic()

    def _matches(self, trades: Sequence[Trade]) -> dict[uuid.UUID, list[tuple[Resting, int, int, Trade]]]:
        """The fills the prints give, per account: (order, price, quantity, print)."""
        by_account: dict[uuid.UUID, list[tuple[Resting, int, int, Trade]]] = defaultdict(list)
        for trade in trades:
            orders = self.resting.get(trade.code)
            if not orders:
                continue
            available = trade.quantity * int(self.participation * 100) // 10_000
            auction = trade.phase is not Phase.CONTINUOUS
            for order in orders:
                if available <= 0:
                    break
                if order.remaining <= 0 or order.trade_date != trade.time.date():
                    continue
                fill = match_limit_order(
                    order.remaining, order.limit, order.side, trade.price, available, auction=auction
                )
                if fill is None:
                    continue
                order.remaining = fill.remaining
                available -= fill.quantity
                by_account[order.account_id].append((order, fill.price, fill.quantity, trade))
        return by_account

    async def match(self, trades: Sequence[Trade]) -> int:
        """Fill resting orders from ``trades``; returns the number of fills written."""
        written = 0
        for account_id, fills in self._matches(trades).items():
            try:
                written += await self._write_fills(account_id, fills)
            except Exception:
                self.stats.errors += 1
                log.exception("trading_fill_failed", account_id=str(account_id))
                self._loaded_at = float("-inf")  # the in-memory view may be off: reload at the next step
        for code in {trade.code for trade in trades}:
            orders = self.resting.get(code)
            if orders:
                self.resting[code] = [o for o in orders if o.remaining > 0]
        return written

    async def _write_fills(self, account_id: uuid.UUID, fills: list[tuple[Resting, int, int, Trade]]) -> int:
        async with self.sessionmaker() as session:
            async with session.begin():
                matched = [
                    RestingFill(ref.id, price, quantity, trade.phase.value, trade.time)
                    for ref, price, quantity, trade in fills
                ]
                written, left = await self.desk.fill_resting(session, account_id, matched)
            pending = events.take_pending(session)
        await events.publish(self.broker, pending)
        for (ref, *_), remaining in zip(fills, left, strict=True):
            if remaining is not None:
                ref.remaining = remaining
        self.stats.fills += written
        self.stats.fill_transactions += 1
        return written

    # -- the trading day ---------------------------------------------------------------------------------------

    async def _for_each_account(
        self,
        account_ids: Iterable[uuid.UUID],
        work: Callable[[AsyncSession, TradingAccount], Awaitable[None]],
        failure: str,
    ) -> None:
        """``work`` on each account in a transaction of its own under its lock, its events published after the
        commit; one account's failure is logged (``failure``) and counted, and the others go on."""
        for account_id in account_ids:
            try:
                async with self.sessionmaker() as session:
                    async with session.begin():
                        await work(session, await lock_account(session, account_id))
                    pending = events.take_pending(session)
                await events.publish(self.broker, pending)
            except Exception:
                self.stats.errors += 1
                log.exception(failure, account_id=str(account_id))

    async def _holders(self) -> set[uuid.UUID]:
        """The accounts holding an open position."""
        async with self.sessionmaker() as session:
            return await repository.holders(session)

    async def start_day(self, day: dt.date, now: dt.datetime) -> None:
        """Lift automatic restrictions and take the start-of-day equity of every account."""

        async def open_day(session: AsyncSession, account: TradingAccount) -> None:
            if account.equity_date is not None and account.equity_date >= day:
                return
            equity = equity_of(account, await repository.positions_of(session, account.id), self.price)
            state = start_of_day(AccountState(account.state))
            if state.value != account.state:
                record_event(
                    session,
                    account,
                    "risk_state_changed",
                    {"from": account.state, "to": state.value, "reasons": ["a new trading day"]},
                )
                account.state, account.state_reason = state.value, None
            account.start_of_day_equity = equity
            account.equity_date = day

        async with self.sessionmaker() as session:
            ids = await repository.all_account_ids(session)
        await self._for_each_account(ids, open_day, "trading_start_day_failed")

    async def close_day(self, day: dt.date, now: dt.datetime) -> int:
        """Expire the open orders of ``day`` and earlier; keep each account's closing equity."""
        expired = 0

        async def expire(session: AsyncSession, account: TradingAccount) -> None:
            nonlocal expired
            expired += await self.desk.expire_day(session, account, day)

        async with self.sessionmaker() as session:
            with_orders = await repository.accounts_with_orders_until(session, day)
        await self._for_each_account(with_orders | await self._holders(), expire, "trading_close_day_failed")
        self.stats.expired += expired
        self._loaded_at = float("-inf")
        await self.reload()
        return expired

    async def evaluate_risk(self, now: dt.datetime) -> None:
        """Revalue accounts holding positions (once per market minute) and latch their risk states."""

        async def revalue(session: AsyncSession, account: TradingAccount) -> None:
            await after_activity(session, account, self.price)

        await self._for_each_account(await self._holders(), revalue, "trading_risk_evaluation_failed")
