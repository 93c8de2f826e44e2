"""Putting frames on a connection without waiting for it.

The hub never awaits a client: it offers a frame, and a connection that cannot take it now (its socket buffer
is above the high-water mark) reports itself blocked, so the hub keeps only the latest state for it instead.

Two ways down to the socket:

* :class:`PreparedWire`, for connections served by uvicorn's sans-I/O WebSocket protocol without compression:
  a server frame is never masked, so the bytes of one update are the same for every client. The hub prepares
  them once per window (:func:`prepare`) and each connection costs one ``transport.write``. With
  permessage-deflate negotiated, the connection compresses through its own protocol object instead. Under
  :class:`StreamProtocol` (what ``kstock serve`` runs) the socket also reports when it fills, drains or is lost
  (asyncio's flow control), so the hub keeps writable connections apart and writes to their transports without
  asking each one first.
* :class:`AsgiWire`, for any other ASGI server: the ASGI ``send`` coroutine is driven synchronously and only
  becomes a task when it has to wait for the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

from starlette.types import Message, Send

try:  # uvicorn's sans-I/O protocol over the websockets library; absent under other servers
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State
except ImportError:  # pragma: no cover - uvicorn[standard] is a dependency
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class FlowListener(Protocol):
    def flow_changed(self) -> None:
        """The socket filled (past the high-water mark), drained (below the low-water mark) or was lost."""


if WebSocketsSansIOProtocol is not None:

    class StreamProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol that tells its stream connection when the socket fills, drains
        or is lost. The transport calls these as its buffer crosses the water marks, from inside ``write``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.flow_listener: FlowListener | None = None

        def pause_writing(self) -> None:
            super().pause_writing()
            if self.flow_listener is not None:
                self.flow_listener.flow_changed()

        def resume_writing(self) -> None:
            super().resume_writing()
            if self.flow_listener is not None:
                self.flow_listener.flow_changed()

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            if self.flow_listener is not None:
                self.flow_listener.flow_changed()


class Prepared:
    """A text frame built once and written to many connections."""

    __slots__ = ("payload", "frame", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self.payload = text.encode()
        size = len(self.payload)
        if size < 126:
            header = bytes((0x81, size))
        elif size < 65_536:
            header = struct.pack("!BBH", 0x81, 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 127, size)
        self.frame = header + self.payload

    @property
    def text(self) -> str:
        return self._text


def prepare(text: str) -> Prepared:
    return Prepared(text)


class Wire(Protocol):
    # The socket's transport when prepared frames may be written to it directly, with its flow control reported
    # to :meth:`watch_flow`'s listener; None when every frame must go through :meth:`write`.
    transport: Any

    def watch_flow(self, listener: FlowListener | None) -> None:
        """Tell ``listener`` when the socket fills, drains or is lost (only where ``transport`` is set)."""

    @property
    def writable(self) -> bool:
        """Open, and the socket's buffer is not paused above its high-water mark."""

    def write(self, frame: Prepared) -> bool:
        """Send now if the connection can take it; False when it is blocked (nothing was sent)."""

    def write_many(self, frames: list[Prepared]) -> int:
        """:meth:`write` of several frames at once; how many were sent (the first ones), 0 when it is blocked."""

    @property
    def blocked(self) -> bool: ...

    @property
    def open(self) -> bool: ...

    def buffered_bytes(self) -> int: ...

    def abort(self, code: int, reason: str) -> None:
        """Close now, without waiting for the socket to drain: the close frame goes after what is buffered and
        the connection is cut if the peer has not taken it within a few seconds."""


_CLOSE_GRACE_S = 3.0
# A connection whose socket holds more than this unsent is full: it takes nothing until it drains (the
# transports' own high-water mark, at which they pause their writers).
HIGH_WATER_BYTES = 64 * 1024


class PreparedWire:
    """Writes prepared frames straight to the transport of uvicorn's sans-I/O protocol."""

    __slots__ = ("_protocol", "_transport", "_compressed", "_buffered", "_write", "transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._compressed = bool(protocol.conn.extensions)
        # Direct writes need the bytes to be the prepared frame (no compression) and the flow control reported.
        direct = not self._compressed and StreamProtocol is not None and isinstance(protocol, StreamProtocol)
        self.transport = protocol.transport if direct else None
        self._buffered = protocol.transport.get_write_buffer_size
        self._write = protocol.transport.write
        # The handshake is over: its request and response (with their headers) are not needed again, and on
        # 10,000 connections they are 30 MB. The websockets parser keeps the request for the connection's life, so
        # its headers are emptied rather than only dropped here.
        if protocol.request is not None:
            protocol.request.headers.clear()
            protocol.request.path = ""  # it holds the query string, the credential included
        protocol.request = protocol.response = None

    @property
    def open(self) -> bool:
        protocol = self._protocol
        return not (protocol.disconnected or protocol.close_sent) and protocol.conn.state is State.OPEN

    @property
    def blocked(self) -> bool:
        return bool(self._buffered() > HIGH_WATER_BYTES)

    @property
    def writable(self) -> bool:
        return self.open and self._protocol.writable.is_set() and not self.blocked

    def watch_flow(self, listener: FlowListener | None) -> None:
        if self.transport is not None:
            self._protocol.flow_listener = listener

    def buffered_bytes(self) -> int:
        return int(self._transport.get_write_buffer_size())

    def abort(self, code: int, reason: str) -> None:
        protocol = self._protocol
        if protocol.disconnected or protocol.close_sent:
            return
        with contextlib.suppress(Exception):  # the protocol may already be closing
            protocol.conn.send_close(code, reason)
            self._transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self._transport.close()
        asyncio.get_running_loop().call_later(_CLOSE_GRACE_S, self._transport.abort)

    def write(self, frame: Prepared) -> bool:
        # The hot path of a fan-out: two attribute reads and two C calls per connection.
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected or self._buffered() > HIGH_WATER_BYTES:
            return False
        if self._compressed:
            protocol.conn.send_text(frame.payload)
            self._write(b"".join(protocol.conn.data_to_send()))
        else:
            self._write(frame.frame)
        return True

    def write_many(self, frames: list[Prepared]) -> int:
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected or self._buffered() > HIGH_WATER_BYTES:
            return 0
        if self._compressed:
            for frame in frames:
                protocol.conn.send_text(frame.payload)
            self._transport.write(b"".join(protocol.conn.data_to_send()))
        else:
            self._transport.write(b"".join([frame.frame for frame in frames]))
        return len(frames)


class AsgiWire:
    """Any ASGI server: ``send`` is driven by hand and handed to a task only if it suspends."""

    __slots__ = ("_send", "_pending", "_closed")
    transport = None  # every frame goes through the ASGI send

    def __init__(self, send: Send) -> None:
        self._send = send
        self._pending: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def open(self) -> bool:
        return not self._closed

    @property
    def blocked(self) -> bool:
        return self._pending is not None and not self._pending.done()

    @property
    def writable(self) -> bool:
        return not (self._closed or self.blocked)

    def watch_flow(self, listener: FlowListener | None) -> None:
        pass

    def buffered_bytes(self) -> int:
        return 0

    def write(self, frame: Prepared) -> bool:
        if self._closed or self.blocked:
            return False
        coroutine: Any = self._send({"type": "websocket.send", "text": frame.text})
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return True
        except Exception:  # the peer is gone: the receive loop sees the disconnect and cleans up
            self._closed = True
            return True
        self._pending = asyncio.ensure_future(_finish(coroutine, waiting))
        self._pending.add_done_callback(self._done)
        return True

    def abort(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.ensure_future(close(self._send, code, reason))
        asyncio.get_running_loop().call_later(_CLOSE_GRACE_S, self._pending.cancel)

    def write_many(self, frames: list[Prepared]) -> int:
        for sent, frame in enumerate(frames):  # once a frame suspends, the rest wait in the connection's buffer
            if not self.write(frame):
                return sent
        return len(frames)

    def _done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self._closed = True


async def _finish(coroutine: Any, waiting: Any) -> None:
    """Resume a coroutine that suspended on ``waiting`` (a future) inside :meth:`AsgiWire.write`."""
    while True:
        await _Yield(waiting)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return


class _Yield:
    """Awaitable that hands the future a suspended coroutine yielded to the running task."""

    __slots__ = ("_future",)

    def __init__(self, future: Any) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, None]:
        yield self._future


def wire_for(send: Send, *, prepared: bool = True) -> Wire:
    """The fastest wire the server under ``send`` allows (``prepared=False`` forces the ASGI path)."""
    protocol = getattr(send, "__self__", None)
    if prepared and WebSocketsSansIOProtocol is not None and isinstance(protocol, WebSocketsSansIOProtocol):
        return PreparedWire(protocol)
    return AsgiWire(send)


async def close(send: Callable[[Message], Awaitable[None]], code: int, reason: str = "") -> None:
    """Close the connection, ignoring a peer that is already gone."""
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": code, "reason": reason})
