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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker

from kstock.broker import Broker, Message
from kstock.broker.channels import ACCOUNT_PREFIX
from kstock.identity.principal import Principal
from kstock.market.snapshot import MarketSnapshot
from kstock.stream.connection import Connection
from kstock.stream.protocol import Clock
from kstock.stream.watches import CodeIndex
from kstock.stream.wire import Prepared
from kstock.trading.accounts import AccountNotFoundError, owned_account
from kstock.trading.market import snapshot_prices
from kstock.trading.models import TradingAccount, TradingPosition
from kstock.trading.render import account_dict, position_dict
from kstock.trading.repository import positions_of

log = structlog.get_logger("kstock.stream.accounts")


_ACCOUNT_KEYS: Final = (
    "state",
    "cash",
    "market_value",
    "equity",
    "unrealized_pnl",
    "realized_pnl",
    "total_pnl",
    "total_return_pct",
)
_POSITION_KEYS: Final = ("stock_code", "quantity", "current_price", "market_value", "unrealized_pnl")


@dataclass(eq=False)
class _Watch:
    account_id: str
    principal: Principal
    account: TradingAccount | None = None
    positions: list[TradingPosition] = field(default_factory=list)
    connections: set[Connection] = field(default_factory=set)
    sequence: int = 0
    dirty: bool = False
    reload: asyncio.Task[None] | None = None
    stale: bool = False  # an event arrived while a reload was running: read again once it ends

    @property
    def codes(self) -> set[str]:
        return {p.stock_code for p in self.positions}


class AccountWatcher:
    def __init__(self, sessionmaker: async_sessionmaker[Any], snapshot: MarketSnapshot, broker: Broker) -> None:
        self._sessionmaker = sessionmaker
        self._prices = snapshot_prices(snapshot)
        self._broker = broker
        self._watches: dict[str, _Watch] = {}
        self._index: CodeIndex[_Watch] = CodeIndex()
        self._clock = Clock()

    async def _load(self, watch: _Watch) -> None:
        """The account and its open positions, through the trading accounts' own owner check."""
        async with self._sessionmaker() as session:
            account = await owned_account(session, watch.principal, uuid.UUID(watch.account_id))
            watch.positions = await positions_of(session, account.id)
            watch.account = account

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
                self._index.add(watch)
                await self._broker.subscribe(ACCOUNT_PREFIX + key)
        watch.connections.add(connection)
        connection.own("account", key)
        return self._pnl_frame(watch, self._clock.iso())

    async def unwatch(self, connection: Connection, raw_id: str) -> None:
        try:
            key = str(uuid.UUID(raw_id))
        except ValueError:
            return
        connection.disown("account", key)
        watch = self._watches.get(key)
        if watch is None:
            return
        watch.connections.discard(connection)
        if not watch.connections:
            self._index.remove(watch)
            del self._watches[key]
            await self._broker.unsubscribe(ACCOUNT_PREFIX + key)

    async def forget(self, connection: Connection) -> None:
        for key in connection.owned_ids("account"):
            await self.unwatch(connection, key)

    def prices_moved(self, codes: Iterable[str]) -> None:
        self._index.prices_moved(codes)

    def deliver(self, received: Message) -> list[Connection]:
        """Forward one event to the account's watchers now (never conflated); returns those that could not take it."""
        key = received.channel.removeprefix(ACCOUNT_PREFIX)
        watch = self._watches.get(key)
        if watch is None:
            return []
        head = b'{"type":"account_update","account_id":"' + key.encode() + b'","data":'
        tail = b',"sequence":%d,"timestamp":"%s"}' % (received.sequence, self._clock.iso().encode())
        frame = Prepared((head + received.data + tail).decode())
        blocked = [c for c in watch.connections if not c.offer((received.channel, received.sequence), frame)]
        # Positions and cash moved with the event: read them again, once for a burst of events (an order's fills).
        if watch.reload is None:
            watch.reload = asyncio.create_task(self._reload(watch))
        else:
            watch.stale = True
        return blocked

    async def _reload(self, watch: _Watch) -> None:
        try:
            while True:
                watch.stale = False
                self._index.remove(watch)
                try:
                    await self._load(watch)
                except AccountNotFoundError:  # deleted
                    for connection in list(watch.connections):
                        connection.subscriptions.pop(f"account_id:{watch.account_id}", None)
                        await self.unwatch(connection, watch.account_id)
                    return
                except Exception:
                    log.exception("account_reload_failed", account_id=watch.account_id)
                if watch.account_id in self._watches:
                    self._index.add(watch)
                    watch.dirty = True
                if not watch.stale:
                    return
        finally:
            watch.reload = None

    def _pnl_frame(self, watch: _Watch, timestamp: str) -> Prepared:
        """The account's figures as ``GET /v1/trading/accounts/{id}`` computes them, at the live prices."""
        if watch.account is None:
            raise AccountNotFoundError("Account not found", {"account_id": watch.account_id})
        account = account_dict(watch.account, watch.positions, self._prices)
        data: dict[str, Any] = {key: account[key] for key in _ACCOUNT_KEYS}
        data["positions"] = [
            {key: row[key] for key in _POSITION_KEYS}
            for row in (position_dict(p, self._prices, account["equity"]) for p in watch.positions)
        ]
        watch.sequence += 1
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
