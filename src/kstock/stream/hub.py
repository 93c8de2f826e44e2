"""The hub: one per API instance, between the broker and this instance's WebSocket connections.

* **One broker subscription per channel**: a channel's room holds the local connections that want it; the hub
  subscribes the broker when a room gets its first member and unsubscribes when it loses its last.
* **Batching window with conflation**: broker messages only replace the channel's entry of the current window;
  every ``ws_batch_window_ms`` the hub builds each changed channel's frame once and offers it to the room. A stock
  that trades 100 times in a window reaches a client once, with the newest state and ``conflated: 99``.
* **Nobody waits for a slow client**: offering never awaits. A connection whose socket is full keeps the newest
  frame per channel (:class:`~kstock.stream.connection.Connection`) and is closed with 1013 when it has not
  drained for ``ws_slow_client_s`` seconds.
* **The fan-out loop writes and does nothing else**: a room keeps the connections that can take a prepared frame
  on their transport now (:class:`Room`), moved in and out as their sockets report filling and draining, so
  one update to 10,000 of them is 10,000 ``transport.write`` calls of the same bytes.
* **Market state**: the feed's ``ticks`` channel (every trade of a step, compact) updates this instance's market
  snapshot, so screens, stock details and live P&L move with the market.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Final

import orjson
import structlog

from kstock.broker import Broker, Message
from kstock.broker.channels import (
    ACCOUNT_PREFIX,
    IDENTITY_REVOKED,
    ORDERBOOK_PREFIX,
    PORTFOLIO_CHANGED,
    PRICE_PREFIX,
    TICKS,
)
from kstock.config import Settings
from kstock.errors import UnauthorizedError
from kstock.identity.principal import Principal
from kstock.identity.revocation import Ended
from kstock.market.snapshot import MarketSnapshot
from kstock.market.table import Tick
from kstock.stream.accounts import AccountWatcher
from kstock.stream.budget import StreamBudget
from kstock.stream.connection import Connection
from kstock.stream.portfolios import PortfolioWatcher
from kstock.stream.protocol import Clock, CloseCode, Kind, message, update_frame
from kstock.stream.wire import Prepared

log = structlog.get_logger("kstock.stream.hub")

_HEARTBEAT_TICK_S: Final = 1.0  # heartbeats go out in this many slices of the connections per interval


_CHANNELS: dict[tuple[Kind, str], str] = {}
_PREFIXES: Final = {Kind.PRICE: PRICE_PREFIX, Kind.ORDERBOOK: ORDERBOOK_PREFIX}


class Room:
    """The local subscribers of one channel, in two parts: ``direct`` maps the transports of connections that
    take prepared frames on the socket right now to their connection (the fan-out's hot loop runs over its keys);
    ``queued`` holds every other member (its socket is full, frames wait in its buffer, it compresses, or it is
    served by another ASGI server), which goes through :meth:`Connection.offer`."""

    __slots__ = ("direct", "queued")

    def __init__(self) -> None:
        self.direct: dict[Any, Connection] = {}
        self.queued: set[Connection] = set()

    def add(self, connection: Connection) -> None:
        if connection.direct:
            self.direct[connection.transport] = connection
        else:
            self.queued.add(connection)

    def discard(self, connection: Connection) -> None:
        if connection.transport is not None:
            self.direct.pop(connection.transport, None)
        self.queued.discard(connection)

    def place(self, connection: Connection, direct: bool) -> None:
        """Move a member to the part it belongs in now (no-op for a connection that is not a member)."""
        if direct:
            if connection in self.queued:
                self.queued.discard(connection)
                self.direct[connection.transport] = connection
        elif self.direct.pop(connection.transport, None) is not None:
            self.queued.add(connection)

    def __len__(self) -> int:
        return len(self.direct) + len(self.queued)

    def __iter__(self) -> Iterator[Connection]:
        yield from self.direct.values()
        yield from self.queued

    def __contains__(self, connection: object) -> bool:
        return connection in self.queued or (
            isinstance(connection, Connection) and self.direct.get(connection.transport) is connection
        )


def channel_of(kind: Kind, code: str) -> str:
    """``price:005930``; one shared string per channel, however many connections hold it."""
    channel = _CHANNELS.get((kind, code))
    if channel is None:
        channel = _CHANNELS[(kind, code)] = _PREFIXES[kind] + code
    return channel


def parse_ticks(data: bytes) -> list[Tick]:
    """The ``ticks`` payload: ``[[code, price, volume, turnover, "YYYY-MM-DD"], ...]``."""
    import datetime as dt

    ticks = []
    days: dict[str, dt.date] = {}
    for code, price, volume, turnover, day in orjson.loads(data):
        date = days.get(day)
        if date is None:
            date = days[day] = dt.date.fromisoformat(day)
        ticks.append(Tick(code, price, date, volume, turnover))
    return ticks


class Hub:
    """Rooms, the batching window and the slow-client policy of one instance."""

    def __init__(self, broker: Broker, snapshot: MarketSnapshot, settings: Settings) -> None:
        self.broker = broker
        self.snapshot = snapshot
        self.settings = settings
        self.window_s = settings.ws_batch_window_ms / 1000
        self.rooms: dict[str, Room] = {}
        self.connections: set[Connection] = set()
        # The connections of each user (a list: a few per user at most, and a third of a set's memory).
        self.users: dict[uuid.UUID, list[Connection]] = {}
        # Connections whose access token or API key expires, by id, and a heap of (when, id) over them; entries
        # of closed connections leave the heap when due, or when it is rebuilt for holding too many of them.
        self._expiring: dict[int, Connection] = {}
        self._expiries: list[tuple[float, int]] = []
        self.latest: dict[str, Message] = {}  # newest message of every channel this instance subscribes
        self._window: dict[str, Message] = {}
        self._window_counts: dict[str, int] = {}
        self._blocked: set[Connection] = set()
        self._moved: set[Connection] = set()  # connections whose sockets filled or drained since the last window
        self._clock = Clock()
        self._tasks: list[asyncio.Task[None]] = []
        self._room_lock = asyncio.Lock()
        self._heartbeat_round = 0
        self._heartbeat_tick_s = min(_HEARTBEAT_TICK_S, settings.ws_heartbeat_s)
        self.portfolios: PortfolioWatcher | None = None  # live P&L, attached by the app
        self.accounts: AccountWatcher | None = None  # paper-trading accounts' events and P&L, attached by the app
        self.portfolio_listeners: list[Callable[[str], None]] = []  # told of every portfolio.changed
        self.revocation_listeners: list[Callable[[Ended], None]] = []  # told of every identity.revoked
        # Raises UnauthorizedError when a principal's credential ended since it connected (attached by the app).
        self.recheck: Callable[[Principal], Awaitable[None]] | None = None
        self.budget = StreamBudget()  # per-user connections and codes; shared through Redis by the app's runtime
        self.credentials_ended = 0
        # Counters for /metrics and the benchmarks.
        self.frames_sent = 0
        self.frames_conflated = 0
        self.slow_clients_dropped = 0
        self.ticks_applied = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.broker.set_handler(self.on_message)
        await self.broker.subscribe(TICKS, PORTFOLIO_CHANGED, IDENTITY_REVOKED)
        self._tasks = [
            asyncio.create_task(self._every(self.window_s, self.flush), name="stream-flush"),
            asyncio.create_task(self._every(self._heartbeat_tick_s, self.heartbeat), name="stream-heartbeat"),
        ]

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @staticmethod
    async def _every(interval_s: float, work: Any) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                work()
            except Exception:  # one bad round must not stop the stream
                log.exception("stream_round_failed", work=getattr(work, "__name__", str(work)))

    # -- broker side -------------------------------------------------------------------------------------------

    def on_message(self, received: Message) -> None:
        """Called by the broker for every message of a subscribed channel; O(1) except for ticks."""
        channel = received.channel
        if channel == TICKS:
            self._apply_ticks(received.data)
            return
        if channel == PORTFOLIO_CHANGED:
            portfolio_id = received.data.decode()
            for listener in self.portfolio_listeners:
                listener(portfolio_id)
            return
        if channel == IDENTITY_REVOKED:
            self._revoked(received.data)
            return
        if channel.startswith(ACCOUNT_PREFIX):
            if self.accounts is not None:
                self._blocked.update(self.accounts.deliver(received))
            return
        if channel not in self.rooms:  # in flight when its last subscriber left
            return
        self.latest[channel] = received
        self._window[channel] = received
        self._window_counts[channel] = self._window_counts.get(channel, 0) + 1

    def _revoked(self, data: bytes) -> None:
        """A credential ended (on any instance): close this instance's connections that used it (1008)."""
        try:
            ended = Ended.decode(data)
        except (ValueError, KeyError, TypeError):
            log.warning("bad_revocation_message", size=len(data))
            return
        for listener in self.revocation_listeners:
            listener(ended)
        for connection in list(self.users.get(ended.user_id, ())):
            if ended.matches(connection.principal):
                self.end(connection, ended.reason)

    def end(self, connection: Connection, reason: str) -> None:
        """Close ``connection`` with 1008: its credential ended. Its receive loop sees the close and cleans up."""
        self.credentials_ended += 1
        log.info("stream_credential_ended", connection=connection.id, reason=reason)
        connection.pending.clear()
        connection.wire.abort(CloseCode.POLICY_VIOLATION, reason)

    async def still_valid(self, connection: Connection) -> bool:
        """Check ``connection``'s credential again (a subscribe does); closes it (1008) when it ended."""
        if self.recheck is None:
            return True
        try:
            await self.recheck(connection.principal)
        except UnauthorizedError as exc:
            self.end(connection, exc.message[:120])
            return False
        return True

    def _apply_ticks(self, data: bytes) -> None:
        if not self.snapshot.loaded:
            return
        try:
            codes = self.snapshot.apply_ticks(parse_ticks(data))
        except (ValueError, TypeError):
            log.warning("bad_ticks_message", size=len(data))
            return
        self.ticks_applied += len(codes)
        if codes and self.portfolios is not None:
            self.portfolios.prices_moved(codes)
        if codes and self.accounts is not None:
            self.accounts.prices_moved(codes)

    # -- rooms -------------------------------------------------------------------------------------------------

    async def join(self, connection: Connection, channels: Iterable[str]) -> None:
        """Put ``connection`` in each channel's room, subscribing the broker to rooms that were empty."""
        async with self._room_lock:
            opened = []
            for channel in channels:
                room = self.rooms.get(channel)
                if room is None:
                    room = self.rooms[channel] = Room()
                    opened.append(channel)
                room.add(connection)
            if opened:
                await self.broker.subscribe(*opened)

    async def leave(self, connection: Connection, channels: Iterable[str]) -> None:
        """Take ``connection`` out of each room, unsubscribing the broker from rooms left empty."""
        async with self._room_lock:
            closed = []
            for channel in channels:
                room = self.rooms.get(channel)
                if room is None:
                    continue
                room.discard(connection)
                connection.pending.pop(channel, None)
                if not room:
                    del self.rooms[channel]
                    self.latest.pop(channel, None)
                    self._window.pop(channel, None)
                    self._window_counts.pop(channel, None)
                    closed.append(channel)
            if closed:
                await self.broker.unsubscribe(*closed)

    def register(self, connection: Connection) -> None:
        self.connections.add(connection)
        self.users.setdefault(connection.principal.user_id, []).append(connection)
        principal = connection.principal
        expires = principal.token_expires_at if principal.token_jti is not None else principal.key_expires_at
        if expires is not None:
            self._expiring[connection.id] = connection
            heapq.heappush(self._expiries, (float(expires), connection.id))
            if len(self._expiries) > 2 * len(self._expiring) + 1_000:
                self._expiries = [entry for entry in self._expiries if entry[1] in self._expiring]
                heapq.heapify(self._expiries)
        connection.placement = self
        connection.wire.watch_flow(connection)

    async def unregister(self, connection: Connection) -> None:
        self.connections.discard(connection)
        self._expiring.pop(connection.id, None)
        same_user = self.users.get(connection.principal.user_id)
        if same_user is not None and connection in same_user:
            same_user.remove(connection)
            if not same_user:
                del self.users[connection.principal.user_id]
        connection.wire.watch_flow(None)
        connection.placement = None
        self._blocked.discard(connection)
        self._moved.discard(connection)
        await self.leave(connection, list(connection.channels))
        connection.channels.clear()
        if self.portfolios is not None:
            self.portfolios.forget(connection)
        if self.accounts is not None:
            await self.accounts.forget(connection)

    async def snapshot_frame(self, kind: Kind, code: str) -> Prepared | None:
        """The latest state of a stock's channel for a new subscriber: what this instance holds, else what the
        publisher retained, else (prices only) the market snapshot's last close, as sequence 0."""
        channel = channel_of(kind, code)
        latest = self.latest.get(channel)
        if latest is None:
            latest = await self.broker.latest(channel)
            if channel in self.latest:  # a live update arrived meanwhile: it is newer, and on its way
                return None
        timestamp = self._clock.iso()
        if latest is not None:
            return Prepared(update_frame(kind, code, latest.data, latest.sequence, 0, timestamp, snapshot=True))
        if kind is not Kind.PRICE:
            return None
        data = self.price_from_snapshot(code)
        if data is None:
            return None
        return Prepared(update_frame(kind, code, data, 0, 0, timestamp, snapshot=True))

    def price_from_snapshot(self, code: str) -> bytes | None:
        detail = self.snapshot.get(code) if self.snapshot.loaded else None
        latest = detail["latest_price"] if detail else None
        if not latest or latest["close_price"] is None:
            return None
        previous = self.snapshot.previous_close(code)
        close = int(latest["close_price"])
        change = 0 if previous is None else close - previous
        return orjson.dumps(
            {
                "current_price": close,
                "change_amount": change,
                "change_percent": latest["change_pct"],
                "volume": None if latest["volume"] is None else int(latest["volume"]),
                "timestamp": f"{latest['trade_date']}T06:30:00.000Z",  # the close (15:30 KST) of its session
            }
        )

    # -- the window --------------------------------------------------------------------------------------------

    def flow_changed(self, connection: Connection) -> None:
        """A connection's socket filled, drained or closed, or its buffer started or stopped holding frames: its
        place in its rooms is settled before the next window's writes."""
        self._moved.add(connection)
        if connection.pending:
            self._blocked.add(connection)

    def _settle(self) -> None:
        moved, self._moved = self._moved, set()
        for connection in moved:
            direct = connection.direct
            for channel in connection.channels:
                room = self.rooms.get(channel)
                if room is not None:
                    room.place(connection, direct)

    def flush(self) -> None:
        """End the window: one frame per changed channel, built once and offered to every connection of its room.

        A connection that follows several changed channels gets their frames in one write (one system call).
        """
        window, counts = self._window, self._window_counts
        self._window, self._window_counts = {}, {}
        if self._moved:
            self._settle()
        timestamp = self._clock.iso()
        single = len(window) == 1
        direct_batches: dict[Connection, list[bytes]] = {}
        batches: dict[Connection, list[tuple[str, Prepared]]] = {}
        for channel, latest in window.items():
            room = self.rooms.get(channel)
            if not room:
                continue
            kind, _, code = channel.partition(":")
            conflated = counts[channel] - 1
            self.frames_conflated += conflated
            frame = Prepared(update_frame(Kind(kind), code, latest.data, latest.sequence, conflated, timestamp))
            self.frames_sent += len(room)
            if single:  # the hot loop of a fan-out: one write per connection
                self._write_direct(room.direct, frame.frame)
                for connection in room.queued:
                    if not connection.offer(channel, frame):
                        self._blocked.add(connection)
                continue
            data = frame.frame
            for connection in room.direct.values():
                frames = direct_batches.get(connection)
                if frames is None:
                    direct_batches[connection] = [data]
                else:
                    frames.append(data)
            for connection in room.queued:
                batch = batches.get(connection)
                if batch is None:
                    batches[connection] = [(channel, frame)]
                else:
                    batch.append((channel, frame))
        if direct_batches:
            self._write_batches(direct_batches)
        for connection, batch in batches.items():
            if not connection.offer_many(batch):
                self._blocked.add(connection)
        if self.portfolios is not None:
            for connection in self.portfolios.flush(timestamp):
                self._blocked.add(connection)
        if self.accounts is not None:
            self._blocked.update(self.accounts.flush(timestamp))
        if self._blocked:
            self._service_blocked()

    def _write_direct(self, direct: dict[Any, Connection], data: bytes) -> None:
        """``data`` to every transport of ``direct``. A socket that fills reports it from inside ``write`` (it
        leaves the direct part at the next window); one whose handle is already closed raises, and is moved."""
        transports = iter(direct)
        while True:
            try:
                for transport in transports:
                    transport.write(data)
                return
            except Exception:  # closed under the loop: the connection's receive loop sees it and cleans up
                self._moved.add(direct[transport])

    def _write_batches(self, batches: dict[Connection, list[bytes]]) -> None:
        """Several channels' frames to each direct connection's transport in one write."""
        pairs = iter(batches.items())
        while True:
            try:
                for connection, frames in pairs:
                    connection.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
                return
            except Exception:  # closed under the loop, as in _write_direct
                self._moved.add(connection)

    def _service_blocked(self) -> None:
        now = time.monotonic()
        patience_s = self.settings.ws_slow_client_s
        for connection in list(self._blocked):
            if not connection.wire.open:
                self._blocked.discard(connection)
            elif connection.drain():
                self._blocked.discard(connection)
            elif connection.blocked_since is not None and now - connection.blocked_since > patience_s:
                self._blocked.discard(connection)
                self.slow_clients_dropped += 1
                log.info("slow_client_dropped", connection=connection.id, pending=len(connection.pending))
                connection.pending.clear()
                connection.wire.abort(CloseCode.TRY_AGAIN_LATER, "too slow: reconnect and resubscribe")

    def expire(self) -> None:
        """Close the connections whose access token or API key has expired (1008)."""
        now = time.time()
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, connection_id = heapq.heappop(expiries)
            connection = self._expiring.pop(connection_id, None)
            if connection is not None:
                principal = connection.principal
                self.end(connection, "access token expired" if principal.token_jti is not None else "API key expired")

    def heartbeat(self) -> None:
        """``heartbeat`` to this second's share of the connections, so each gets one every ``ws_heartbeat_s``
        without 10,000 frames leaving in one burst; connections whose credential has expired are closed (1008).
        """
        self.expire()
        self._heartbeat_round += 1
        buckets = max(1, round(self.settings.ws_heartbeat_s / _HEARTBEAT_TICK_S))
        bucket = self._heartbeat_round % buckets
        frame = Prepared(message("heartbeat"))
        for connection in list(self.connections):
            if connection.id % buckets != bucket:
                continue
            if not connection.offer("heartbeat", frame):
                self._blocked.add(connection)

    def note_blocked(self, connection: Connection) -> None:
        self._blocked.add(connection)
