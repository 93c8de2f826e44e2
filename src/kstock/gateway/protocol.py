"""The HTTP/1.1 protocol the API server runs: uvicorn's (on httptools), with each response's head written together
with the first part of its body.

uvicorn writes a response's status line and headers as soon as the app starts the response, and the body in a
second write: two system calls and two TCP segments per small answer, and a client woken twice. Here the head is
held back until the next write on the connection, which carries both. A head that nothing follows within the same
turn of the event loop (a streamed response still computing its first part, a HEAD, a 204) goes out on the next
turn. Bytes always leave in the order they were written.

A connection upgraded to a WebSocket hands the socket's own transport to the WebSocket protocol: frames are
written as they come, through nothing of this module.

It also bounds what a client may send before its request reaches the app (httptools itself has no limit): the
request line and headers together at most ``KSTOCK_MAX_HEADER_BYTES`` (431 above), sent within
``KSTOCK_HEADER_TIMEOUT_S`` of the request's first byte, or of the connection's opening (408 after; a connection
that sent nothing is closed without an answer). Both answers carry the one error body and ``Connection: close``,
and the connection is closed after them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import httptools
import orjson
import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from kstock.errors import error_body
from kstock.gateway.request_id import new_request_id

log = structlog.get_logger("kstock.gateway.protocol")

_STATUS_LINE_START: Final = b"HTTP/1.1 "
_HEAD_END: Final = b"\r\n\r\n"
_JOIN_LIMIT: Final = 64 * 1024  # larger bodies are handed over as a second buffer rather than copied


def _is_final_head(data: bytes | bytearray | memoryview) -> bool:
    """A response head (status line and headers) other than an interim ``1xx`` answer such as 100 Continue."""
    return data[:9] == _STATUS_LINE_START and data[9:10] != b"1" and data[-4:] == _HEAD_END


class HeadHoldingTransport(asyncio.Transport):
    """A connection's transport that holds a response head back until the next write, or the next turn of the
    event loop at the latest; everything else is the socket transport's own."""

    __slots__ = ("_held", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if len(data) <= _JOIN_LIMIT:
                self.transport.write(held + data)
            else:
                self.transport.writelines((held, data))
        elif _is_final_head(data):
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def flush(self) -> None:
        """Write the held head, if any (dropped when the connection is already closing: its client is gone)."""
        held = self._held
        if held is not None:
            self._held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self.transport.abort()

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.transport.get_protocol()

    def is_reading(self) -> bool:
        return self.transport.is_reading()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + len(self._held or b"")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.transport.get_write_buffer_limits()


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    """How much, and how slowly, a client may send a request's line and headers."""

    max_bytes: int = 16_384
    timeout_s: float = 10.0


class _Refused(Exception):
    """Stops the parser: the request has been answered and the connection is closing."""


_LINGER_S: Final = 2.0
_REFUSALS: Final = {
    408: ("REQUEST_TIMEOUT", "Request headers not received within {limit} seconds", "header_timeout_s"),
    431: ("REQUEST_HEADERS_TOO_LARGE", "Request line and headers exceed {limit} bytes", "max_header_bytes"),
}


def refusal_response(status: int, limit: float | int, path: str) -> bytes:
    """A whole response, in the one error body, that closes the connection."""
    code, message, setting = _REFUSALS[status]
    request_id = new_request_id()
    body = orjson.dumps(error_body(code, message.format(limit=limit), {setting: limit}, path, request_id))
    head = (
        b"content-type: application/json\r\n"
        b"content-length: %d\r\n"
        b"connection: close\r\n"
        b"x-content-type-options: nosniff\r\n"
        b"x-request-id: %s\r\n\r\n"
    ) % (len(body), request_id.encode("ascii"))
    return STATUS_LINE[status] + head + body


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`HeadHoldingTransport`, with :class:`HeaderLimits`."""

    def __init__(self, *args: Any, header_limits: HeaderLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_limits = header_limits or HeaderLimits()
        self._head_bytes = 0  # request line and headers of the request being received, as the parser handed them
        self._head_chunks = 0  # the reads that arrived wholly inside that head
        self._messages = 0
        self._lingering = False  # refused: what still arrives is dropped until the connection closes
        self._head_timer: asyncio.TimerHandle | None = None
        self._receiving_head = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadHoldingTransport(transport, self.loop))
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        self._unset_keepalive_if_required()
        # httptools hands a header over only once its value is complete, keeping the pieces meanwhile: a chunk
        # that arrives and leaves the same request's head incomplete is counted whole, so that an endless header
        # is refused after at most one read buffer more than the limit.
        within_head = self._receiving_head
        messages = self._messages
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Refused) or self.transport.is_closing():
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if within_head and self._receiving_head and messages == self._messages:
            self._head_chunks += len(data)
            if self._head_chunks > self.header_limits.max_bytes:
                self._refuse(431, self.header_limits.max_bytes)

    def handle_websocket_upgrade(self) -> None:
        transport = self.transport
        if isinstance(transport, HeadHoldingTransport):
            transport.flush()
            self.transport = transport.transport
        super().handle_websocket_upgrade()

    # The head's size and time

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_limits.timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if max(self._head_bytes, self._head_chunks) > self.header_limits.max_bytes:
            self._refuse(431, self.header_limits.max_bytes)
            raise _Refused

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._receiving_head:
            self._refuse(408, self.header_limits.timeout_s)
        elif self.cycle is None or self.cycle.response_complete:
            self.transport.close()  # opened and silent: nothing to answer

    def _refuse(self, status: int, limit: float | int) -> None:
        """Answer ``status`` and close, unless an earlier request's response is still going out: then only close."""
        self._stop_head_timer()
        self._receiving_head = False
        log.warning("request_head_refused", status=status, client=self.client and self.client[0])
        if self.cycle is None or self.cycle.response_complete:
            path = self.url.split(b"?", 1)[0].decode("latin-1") if len(self.url) <= 2_048 else ""
            self.transport.write(refusal_response(status, limit, path))
            # A close with unread bytes in the socket makes the kernel send a reset, which can reach the client
            # before the answer does: end the sending side, read and drop what still comes, close a little later.
            self._lingering = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(_LINGER_S, self._close)
        else:
            self.cycle.keep_alive = False
            self.flow.pause_reading()

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._messages += 1
        self._head_bytes = 0
        self._head_chunks = 0
        self._receiving_head = True
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._receiving_head = False
        self._stop_head_timer()
        super().on_headers_complete()


def protocol_factory(limits: HeaderLimits) -> Callable[..., HttpProtocol]:
    """uvicorn's ``http`` option: :class:`HttpProtocol` with ``limits`` (a partial of a module-level class, so it
    pickles into uvicorn's own worker processes too)."""
    return functools.partial(HttpProtocol, header_limits=limits)
