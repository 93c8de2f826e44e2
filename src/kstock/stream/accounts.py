"""The ``account:{id}`` channel of a paper-trading account's owner: its events as they happen, and its live P&L.

Events (an order accepted, filled, cancelled, expired; a risk state change; a signal; ...) are published on the
broker by whichever process wrote them, after the commit. Each instance subscribes the broker to the account's
channel while one of its clients watches it and forwards every event, in order and never conflated, as an
``account_update`` frame with the publisher's sequence. Between events, the account's positions (read from the
database, and again after each event) are revalued at the end of a batching window in which one of their stocks
traded, as an ``account_pnl`` frame. The owner check is the database read: another user's account, or a missing
one, is the same ``NOT_FOUND``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from kstock.errors import NotFoundError
from kstock.identity.principal import Principal
from kstock.kit.numbers import percent
from kstock.market.snapshot import MarketSnapshot
from kstock.stream.broker import Broker, Message
from kstock.stream.connection import Connection
from kstock.stream.protocol import Clock
from kstock.stream.wire import Prepared
from kstock.trading.models import TradingAccount, TradingPosition

log = structlog.get_logger("kstock.stream.accounts")

CHANNEL_PREFIX = "account:"


class AccountNotFoundError(NotFoundError):
    code = "ACCOUNT_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class _Position:
    code: str
    quantity: int
    cost: int  # cost basis plus the buy commission of the shares held
    last_price: int | None


@dataclass(eq=False)
class _Watch:
    account_id: str
    principal: Principal
    cash: int = 0
    starting_cash: int = 0
    realized_pnl: int = 0
    state: str = "active"
    positions: list[_Position] = field(default_factory=list)
    connections: set[Connection] = field(default_factory=set)
    sequence: int = 0
    dirty: bool = False

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.positions}


class AccountWatcher:
    def __init__(self, sessionmaker: async_sessionmaker[Any], snapshot: MarketSnapshot, broker: Broker) -> None:
        self._sessionmaker = sessionmaker
        self._snapshot = snapshot
        self._broker = broker
        self._watches: dict[str, _Watch] = {}
        self._by_code: dict[str, set[_Watch]] = defaultdict(set)
        self._reloads: set[asyncio.Task[None]] = set()
        self._clock = Clock()

    async def _load(self, watch: _Watch) -> None:
        account_id = uuid.UUID(watch.account_id)
        async with self._sessionmaker() as session:
            account = (
                await session.execute(
                    select(TradingAccount).where(
                        TradingAccount.id == account_id, TradingAccount.user_id == watch.principal.user_id
                    )
                )
            ).scalar_one_or_none()
            if account is None:
                raise AccountNotFoundError("Account not found", {"account_id": watch.account_id})
            rows = (
                await session.execute(
                    select(TradingPosition).where(
                        TradingPosition.account_id == account_id, TradingPosition.quantity > 0
                    )
                )
            ).scalars()
            watch.positions = [_Position(p.stock_code, p.quantity, p.cost_basis + p.fees, p.last_price) for p in rows]
            watch.cash, watch.starting_cash = account.cash, account.starting_cash
            watch.realized_pnl, watch.state = account.realized_pnl, account.state

    async def watch(self, connection: Connection, raw_id: str) -> Prepared:
        """Forward the account's events and P&L to ``connection``; AccountNotFoundError unless it owns it.
        Returns the current P&L, for the caller to send after its acknowledgement."""
        try:
            key = str(uuid.UUID(raw_id))
        except ValueError as exc:
            raise AccountNotFoundError("Account not found", {"account_id": raw_id}) from exc
        watch = self._watches.get(key)
        if watch is None or watch.principal.user_id != connection.principal.user_id:
            candidate = _Watch(key, connection.principal)
            await self._load(candidate)  # the owner check
            watch = self._watches.get(key)
            if watch is None:
                watch = self._watches[key] = candidate
                self._index(watch)
                await self._broker.subscribe(CHANNEL_PREFIX + key)
        watch.connections.add(connection)
        connection.accounts.add(key)
        return self._pnl_frame(watch, self._clock.iso())

    async def unwatch(self, connection: Connection, raw_id: str) -> None:
        try:
            key = str(uuid.UUID(raw_id))
        except ValueError:
            return
        connection.accounts.discard(key)
        watch = self._watches.get(key)
        if watch is None:
            return
        watch.connections.discard(connection)
        if not watch.connections:
            self._unindex(watch)
            del self._watches[key]
            await self._broker.unsubscribe(CHANNEL_PREFIX + key)

    async def forget(self, connection: Connection) -> None:
        for key in list(connection.accounts):
            await self.unwatch(connection, key)

    def _index(self, watch: _Watch) -> None:
        for code in watch.codes:
            self._by_code[code].add(watch)

    def _unindex(self, watch: _Watch) -> None:
        for code in watch.codes:
            watchers = self._by_code.get(code)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._by_code[code]

    def prices_moved(self, codes: Iterable[str]) -> None:
        for code in codes:
            for watch in self._by_code.get(code, ()):
                watch.dirty = True

    def deliver(self, received: Message) -> list[Connection]:
        """Forward one event to the account's watchers now (never conflated); returns those that could not take it."""
        key = received.channel.removeprefix(CHANNEL_PREFIX)
        watch = self._watches.get(key)
        if watch is None:
            return []
        head = b'{"type":"account_update","account_id":"' + key.encode() + b'","data":'
        tail = b',"sequence":%d,"timestamp":"%s"}' % (received.sequence, self._clock.iso().encode())
        frame = Prepared((head + received.data + tail).decode())
        blocked = [c for c in watch.connections if not c.offer((received.channel, received.sequence), frame)]
        task = asyncio.create_task(self._reload(watch))  # positions and cash moved with the event
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)
        return blocked

    async def _reload(self, watch: _Watch) -> None:
        try:
            self._unindex(watch)
            await self._load(watch)
        except AccountNotFoundError:  # deleted
            for connection in list(watch.connections):
                connection.subscriptions.pop(f"account_id:{watch.account_id}", None)
                await self.unwatch(connection, watch.account_id)
            return
        except Exception:
            log.exception("account_reload_failed", account_id=watch.account_id)
        if watch.account_id in self._watches:
            self._index(watch)
            watch.dirty = True

    def _price(self, position: _Position) -> int:
        detail = self._snapshot.get(position.code) if self._snapshot.loaded else None
        latest = detail.get("latest_price") if detail else None
        price = latest.get("close_price") if latest else None
        return int(price) if price else (position.last_price or 0)

    def _pnl_frame(self, watch: _Watch, timestamp: str) -> Prepared:
        rows = []
        market_value = unrealized = 0
        for position in watch.positions:
            price = self._price(position)
            value = price * position.quantity
            market_value += value
            unrealized += value - position.cost
            rows.append(
                {
                    "stock_code": position.code,
                    "quantity": position.quantity,
                    "current_price": price,
                    "market_value": value,
                    "unrealized_pnl": value - position.cost,
                }
            )
        equity = watch.cash + market_value
        watch.sequence += 1
        data = {
            "state": watch.state,
            "cash": watch.cash,
            "market_value": market_value,
            "equity": equity,
            "unrealized_pnl": unrealized,
            "realized_pnl": watch.realized_pnl,
            "total_pnl": equity - watch.starting_cash,
            "total_return_pct": percent(equity - watch.starting_cash, watch.starting_cash),
            "positions": rows,
        }
        return Prepared(
            orjson.dumps(
                {
                    "type": "account_pnl",
                    "account_id": watch.account_id,
                    "data": data,
                    "sequence": watch.sequence,
                    "timestamp": timestamp,
                }
            ).decode()
        )

    def flush(self, timestamp: str) -> list[Connection]:
        """Revalue the accounts whose stocks moved (or that changed); returns the connections that were full."""
        blocked = []
        for watch in self._watches.values():
            if not watch.dirty:
                continue
            watch.dirty = False
            frame = self._pnl_frame(watch, timestamp)
            for connection in watch.connections:
                if not connection.offer(("account_pnl", watch.account_id), frame):
                    blocked.append(connection)
        return blocked
