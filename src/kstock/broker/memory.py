"""The in-process broker: publishers and the hub share one object in one process (``kstock serve --demo``).

Delivery goes through ``loop.call_soon``: ``publish`` only numbers the message and queues it, and the handler runs
on a later turn of the event loop, so a handler that publishes is never re-entered and a publisher never runs the
hub's work inside its own call. Messages are delivered in the order they were published. The payload is never
copied: every delivery hands the handler the same ``Message`` (and the same ``bytes``) the publisher made.

Two ``MemoryBroker`` objects do not see each other's messages; that takes Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kstock.broker.base import Broker, BrokerUnavailableError, Message


class MemoryBroker(Broker):
    """Channels, sequences and retained messages in dicts of this process."""

    def __init__(self, *, prefix: str = "kstock:") -> None:
        super().__init__(prefix=prefix)
        self._retained: dict[str, Message] = {}
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise BrokerUnavailableError("The broker is closed")
        self._started = True

    async def close(self) -> None:
        self._started = False
        self._closed = True

    @property
    def connected(self) -> bool:
        return self._started

    async def publish(self, channel: str, data: bytes, *, retain: bool = False) -> int:
        self._check_open()
        message = Message(channel, self._next_sequence(channel), data, self.epoch)
        if retain:
            self._retained[channel] = message
        self.messages_published += 1
        if channel in self._desired:
            asyncio.get_running_loop().call_soon(self._deliver, (message,))
        return message.sequence

    async def publish_many(self, items: Sequence[tuple[str, bytes]], *, retain: bool = False) -> list[int]:
        self._check_open()
        epoch = self.epoch
        messages = [Message(channel, self._next_sequence(channel), data, epoch) for channel, data in items]
        if retain:
            for message in messages:
                self._retained[message.channel] = message
        self.messages_published += len(messages)
        desired = self._desired
        wanted = [message for message in messages if message.channel in desired]
        if wanted:
            asyncio.get_running_loop().call_soon(self._deliver, wanted)
        return [message.sequence for message in messages]

    async def latest(self, channel: str) -> Message | None:
        self._check_open()
        return self._retained.get(channel)

    async def subscribe(self, *channels: str) -> None:
        self._desired.update(channels)

    async def unsubscribe(self, *channels: str) -> None:
        self._desired.difference_update(channels)

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerUnavailableError("The broker is closed")

    def _deliver(self, messages: Sequence[Message]) -> None:
        """Hand queued messages to the handler, skipping channels unsubscribed since they were published."""
        handler = self._handler
        if handler is None or not self._started:
            return
        desired = self._desired
        for message in messages:
            if message.channel not in desired:
                continue
            self.messages_received += 1
            try:
                handler(message)
            except Exception:
                self._handler_failed(message)
