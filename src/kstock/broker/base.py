"""The pub/sub broker between publishers (the feed, order and portfolio events) and the API instances.

One small interface, two backends chosen by URL:

* ``None`` or ``memory://`` -- :class:`~kstock.broker.memory.MemoryBroker`, everything in this process
  (``kstock serve --demo``);
* ``redis://``, ``rediss://`` or ``unix://`` -- :class:`~kstock.broker.redis.RedisBroker`, Redis pub/sub
  between N API instances and one feed process.

Channel names are :mod:`kstock.broker.channels`.

Each broker has one consumer, its handler (the hub of the API instance), and holds at most one subscription per
channel: the hub counts its own WebSocket clients and subscribes a channel when the first one wants it.

Sequences: the publishing broker numbers each channel's messages 1, 2, 3, ... without gaps, and stamps them with
its ``epoch``, a random number drawn when the broker is created. A subscriber that sees a sequence jump within one
epoch lost messages; a new epoch means the publisher restarted and its numbering began again at 1. Several
publishers may share a channel (each API instance announces its own portfolio changes): sequences are then
gap-free per ``(channel, epoch)``.

Retained messages: ``publish(..., retain=True)`` also keeps the message as the channel's last value, which
:meth:`Broker.latest` returns, so a new subscriber can be sent a snapshot before the next update arrives.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple

import structlog

from kstock.errors import ServiceUnavailableError

log = structlog.get_logger("kstock.broker")

HANDLER_ERROR_LOG_INTERVAL_S: Final = 1.0
MAX_EPOCH: Final = 2**53  # epochs stay exact as a JSON number in JavaScript


class Message(NamedTuple):
    """One message of a channel, as the publisher sent it."""

    channel: str
    """The channel name, without the deployment prefix (``price:005930``)."""
    sequence: int
    """The publisher's number of this message in the channel: 1, 2, 3, ... without gaps per publisher epoch."""
    data: bytes
    """The payload as published (JSON bytes); the broker never parses it."""
    epoch: int = 0
    """The publishing broker's epoch: a new one means the publisher restarted and its sequences began again."""


Handler = Callable[[Message], None]
"""The broker's one consumer: synchronous, called on the event loop thread for every message of a subscribed
channel, in the order the publisher sent them. It must not block; an exception it raises is logged and counted
(``handler_errors``) and delivery goes on."""


class BrokerUnavailableError(ServiceUnavailableError):
    """The broker cannot publish or read now (Redis unreachable, or the broker was closed). The caller may retry."""

    code = "BROKER_UNAVAILABLE"
    default_message = "The message broker is unavailable"


def new_epoch() -> int:
    """A random publisher epoch in ``[1, 2**53)``."""
    return secrets.randbelow(MAX_EPOCH - 1) + 1


class Broker(ABC):
    """Publish to channels, subscribe this instance to channels, and hand every message received to one handler.

    Counters for metrics: ``messages_published``, ``messages_received`` (delivered to the handler),
    ``handler_errors`` and ``reconnects`` (outages recovered from; always 0 in memory).
    """

    def __init__(self, *, prefix: str = "kstock:") -> None:
        self.prefix = prefix
        self.epoch = new_epoch()
        self.messages_published = 0
        self.messages_received = 0
        self.handler_errors = 0
        self.reconnects = 0
        self._handler: Handler | None = None
        self._sequences: dict[str, int] = {}
        self._desired: set[str] = set()
        self._last_handler_error_log = float("-inf")
        self._handler_errors_unlogged = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @abstractmethod
    async def start(self) -> None:
        """Connect (Redis: start the supervised reader, which keeps reconnecting while Redis is down)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop delivering and disconnect; publishing afterwards raises :class:`BrokerUnavailableError`."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether messages of the subscribed channels are being received now."""

    # -- publishing --------------------------------------------------------------------------------------------

    @abstractmethod
    async def publish(self, channel: str, data: bytes, *, retain: bool = False) -> int:
        """Send ``data`` to every subscriber of ``channel`` with this publisher's next sequence of the channel,
        which is returned. ``retain`` also keeps it as the channel's last value (:meth:`latest`).

        Raises :class:`BrokerUnavailableError` when it cannot be sent; the sequence is used up all the same, so
        subscribers see a gap rather than two messages with one number."""

    @abstractmethod
    async def publish_many(self, items: Sequence[tuple[str, bytes]], *, retain: bool = False) -> list[int]:
        """:meth:`publish` for each ``(channel, data)`` in order, in one round trip; returns their sequences."""

    @abstractmethod
    async def latest(self, channel: str) -> Message | None:
        """The channel's last retained message (from any publisher), or None."""

    # -- subscribing -------------------------------------------------------------------------------------------

    @abstractmethod
    async def subscribe(self, *channels: str) -> None:
        """Receive the messages of ``channels`` from now on; channels already subscribed are left as they are.
        Once it returns, every message published afterwards is delivered (Redis: the subscription is confirmed,
        unless Redis is down, in which case it is made on reconnection)."""

    @abstractmethod
    async def unsubscribe(self, *channels: str) -> None:
        """Stop receiving ``channels``: no message of theirs reaches the handler after this call."""

    def set_handler(self, handler: Handler) -> None:
        """Make ``handler`` the one consumer of this broker's messages (replacing any previous one)."""
        self._handler = handler

    @property
    def subscriptions(self) -> frozenset[str]:
        """The channels this broker is subscribed to (or will resubscribe once Redis is back)."""
        return frozenset(self._desired)

    # -- shared by the backends --------------------------------------------------------------------------------

    def _next_sequence(self, channel: str) -> int:
        sequence = self._sequences.get(channel, 0) + 1
        self._sequences[channel] = sequence
        return sequence

    def _handler_failed(self, message: Message) -> None:
        """Count a handler exception (being handled) and log it, at most once a second with the number skipped."""
        self.handler_errors += 1
        now = time.monotonic()
        if now - self._last_handler_error_log < HANDLER_ERROR_LOG_INTERVAL_S:
            self._handler_errors_unlogged += 1
            return
        self._last_handler_error_log = now
        log.exception(
            "broker_handler_failed",
            channel=message.channel,
            sequence=message.sequence,
            errors_not_logged=self._handler_errors_unlogged,
        )
        self._handler_errors_unlogged = 0


def create_broker(url: str | None, *, prefix: str = "kstock:") -> Broker:
    """The broker for ``url``: in-process for None or ``memory://``, Redis pub/sub for ``redis://``, ``rediss://``
    and ``unix://``. ``prefix`` namespaces the Redis channels and keys of one deployment. Nothing connects before
    :meth:`Broker.start`."""
    if url is None or url == "" or url.startswith("memory://"):
        from kstock.broker.memory import MemoryBroker

        return MemoryBroker(prefix=prefix)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from kstock.broker.redis import RedisBroker

        return RedisBroker(url, prefix=prefix)
    scheme = url.split("://", 1)[0] if "://" in url else url
    raise ValueError(f"Unsupported broker URL scheme {scheme!r}: use memory:// or redis://")
