"""One client connection of the stream: what it subscribed to, and its bounded, conflating send buffer."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, Protocol

from starlette.types import Send

from kstock.identity.principal import Principal
from kstock.stream.protocol import OWNED_SCOPES, Kind, Target
from kstock.stream.wire import Prepared, Wire

_ids: Final = itertools.count(1)


class Placement(Protocol):
    def flow_changed(self, connection: Connection) -> None:
        """``connection`` may have become able, or unable, to take frames written straight to its transport."""


@dataclass(slots=True)
class Subscription:
    target: Target
    kinds: frozenset[Kind]
    codes: tuple[str, ...]  # the stocks it brought when made (a market's members at that time)


class Connection:
    """A subscriber. The hub offers it frames; it never makes the hub wait.

    ``pending`` is the send buffer of a connection whose socket is full: one frame per key (a channel, or one
    control reply), the newest replacing the older, so it holds at most one entry per subscribed channel.

    ``transport`` is set where the hub may write prepared frames straight to the socket (:class:`PreparedWire`
    under the stream's protocol); the connection tells its ``placement`` (the hub) whenever that stops or starts
    being safe: the socket filled or drained, frames were kept in ``pending`` or all written.
    """

    __slots__ = (
        "id",
        "principal",
        "wire",
        "transport",
        "placement",
        "send",
        "subscriptions",
        "channels",
        "codes",
        "owned",
        "pending",
        "blocked_since",
        "_control",
        "_tokens",
        "_tokens_at",
        "_rate",
    )

    def __init__(self, principal: Principal, wire: Wire, messages_per_s: int, send: Send | None = None) -> None:
        self.id = next(_ids)
        self.principal = principal
        self.wire = wire
        self.transport: Any = wire.transport
        self.placement: Placement | None = None
        self.send = send  # the ASGI send under the wire
        self.subscriptions: dict[str, Subscription] = {}  # by Target.key
        self.channels: Counter[str] = Counter()  # channel -> how many subscriptions bring it
        self.codes: Counter[str] = Counter()  # stock code -> how many (subscription, kind) pairs bring it
        self.owned: set[tuple[str, str]] | None = None  # (scope, id) of watched portfolios and accounts; rare
        self.pending: dict[object, Prepared] = {}
        self.blocked_since: float | None = None
        self._control = itertools.count()
        self._rate = float(messages_per_s)
        self._tokens = float(messages_per_s)
        self._tokens_at = time.monotonic()

    def own(self, scope: str, key: str) -> None:
        if self.owned is None:
            self.owned = set()  # made on first use: an empty set is 216 bytes on each of 10,000 connections
        self.owned.add((scope, key))

    def disown(self, scope: str, key: str) -> None:
        if self.owned is not None:
            self.owned.discard((scope, key))

    def owned_ids(self, scope: str) -> list[str]:
        return [key for owned_scope, key in self.owned or () if owned_scope == scope]

    def offer(self, key: object, frame: Prepared) -> bool:
        """Send ``frame`` now, or keep it as ``key``'s latest until the socket drains; False when it was kept."""
        if not self.pending and self.wire.write(frame):
            return True
        self.keep(key, frame)
        return False

    def keep(self, key: object, frame: Prepared) -> None:
        """Buffer ``frame`` as ``key``'s latest (the socket is full, or older frames wait before it)."""
        self.pending[key] = frame
        if self.blocked_since is None:
            self._now_blocked()

    def _now_blocked(self) -> None:
        self.blocked_since = time.monotonic()
        self.flow_changed()

    @property
    def direct(self) -> bool:
        """Frames may be written straight to ``transport``: it has one, nothing waits in ``pending`` and the
        socket is open and below its high-water mark."""
        return self.transport is not None and not self.pending and self.wire.writable

    def flow_changed(self) -> None:
        if self.placement is not None:
            self.placement.flow_changed(self)

    def offer_many(self, frames: list[tuple[str, Prepared]]) -> bool:
        """:meth:`offer` of several channels' frames, in one write when the socket takes them."""
        sent = 0 if self.pending else self.wire.write_many([frame for _, frame in frames])
        if sent == len(frames):
            return True
        for key, frame in frames[sent:]:
            self.pending[key] = frame
        if self.blocked_since is None:
            self._now_blocked()
        return False

    def reply(self, frame: Prepared) -> bool:
        """A control reply (ack, pong, error): never replaced by a later one."""
        return self.offer(("control", next(self._control)), frame)

    def drain(self) -> bool:
        """Write what the buffer holds while the socket takes it; True when it is empty again."""
        wire = self.wire
        while self.pending:
            key = next(iter(self.pending))
            if not wire.write(self.pending[key]):
                return False
            del self.pending[key]
        if self.blocked_since is not None:
            self.blocked_since = None
            self.flow_changed()
        return True

    def allow_message(self) -> bool:
        """Token bucket over client messages: ``messages_per_s`` sustained, the same as a burst."""
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._tokens_at) * self._rate)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def subscription_list(self) -> list[dict[str, object]]:
        """Every subscription as the client named it, in the order made."""
        listed: list[dict[str, object]] = []
        for subscription in self.subscriptions.values():
            entry: dict[str, object] = dict(subscription.target.as_dict())
            if subscription.target.scope not in OWNED_SCOPES:
                entry["channels"] = sorted(subscription.kinds)
            listed.append(entry)
        return listed
