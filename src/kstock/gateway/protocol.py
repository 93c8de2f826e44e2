"""The HTTP/1.1 protocol the API server runs: uvicorn's (on httptools), with each response's head written together
with the first part of its body.

uvicorn writes a response's status line and headers as soon as the app starts the response, and the body in a
second write: two system calls and two TCP segments per small answer, and a client woken twice. Here the head is
held back until the next write on the connection, which carries both. A head that nothing follows within the same
turn of the event loop (a streamed response still computing its first part, a HEAD, a 204) goes out on the next
turn. Bytes always leave in the order they were written.

A connection upgraded to a WebSocket hands the socket's own transport to the WebSocket protocol: frames are
written as they come, through nothing of this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# uvicorn's ``http`` option: an import string, so that worker processes load it themselves.
HTTP_PROTOCOL: Final = "kstock.gateway.protocol:HttpProtocol"

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


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`HeadHoldingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadHoldingTransport(transport, self.loop))

    def handle_websocket_upgrade(self) -> None:
        transport = self.transport
        if isinstance(transport, HeadHoldingTransport):
            transport.flush()
            self.transport = transport.transport
        super().handle_websocket_upgrade()
