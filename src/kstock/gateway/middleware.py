"""The gateway middleware: one pure ASGI layer in front of every route.

Per HTTP request, in this order:

1. the request id (:mod:`~kstock.gateway.request_id`): the client's well-formed ``X-Request-ID`` or a new uuid4,
   kept in the request state and bound to the log context for the length of the request;
2. the body limit (:mod:`~kstock.gateway.bodylimit`): a declared length over ``KSTOCK_MAX_BODY_BYTES`` is answered
   413 before the body is read; a body is counted as the app reads it;
3. the app, then, on the response head: the rate-limit headers the limiter decided
   (:mod:`~kstock.gateway.ratelimit`) and ``X-Request-ID``, unless the response already carries them;
   ``X-Content-Type-Options: nosniff`` on every response, and ``Cache-Control: no-store`` on the answers that
   carry credentials (``/v1/auth/*`` and ``/v1/api-keys``: tokens, a new key);
4. once the response has gone out: the audit rows (:mod:`~kstock.gateway.audit`, written in their own
   transaction), then the request's count and time by route template (:mod:`~kstock.gateway.metrics`), then the
   access-log line (method, path without its query string, status, milliseconds; the request id comes from the
   log context). Credentials travel in headers or in the query string, and neither is logged.

Each concern keeps its rules in its own module; this one calls them, with one wrapper of ``send`` and one of
``receive`` per request rather than one per concern: every message of every response passes through it.
WebSocket connections get the request id only: their frames pass through untouched.
"""

from __future__ import annotations

import time
from typing import Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kstock.gateway.audit import begin_request, end_request
from kstock.gateway.bodylimit import BodyLimit
from kstock.gateway.metrics import record_request
from kstock.gateway.ratelimit import add_limit_headers
from kstock.gateway.request_id import HEADER_KEY, add_request_id, request_id_from

_CONTENT_LENGTH: Final = b"content-length"
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")
_NO_STORE: Final = (b"cache-control", b"no-store")
# Answers that carry credentials (access and refresh tokens, a new API key): never kept by a cache.
_CREDENTIAL_PATHS: Final = ("/v1/auth/", "/v1/api-keys")
_bind_contextvars = structlog.contextvars.bind_contextvars
_unbind_contextvars = structlog.contextvars.unbind_contextvars
access_log = structlog.get_logger("kstock.access")


def _set_default(headers: list[tuple[bytes, bytes]], header: tuple[bytes, bytes]) -> None:
    name = header[0]
    for existing, _ in headers:
        if existing == name:
            return
    headers.append(header)


def _start(scope: Scope) -> tuple[str, bytes | None]:
    """Read the request's headers once: set its id (state and log context); its declared body length, if any."""
    raw_id: str | None = None
    content_length: bytes | None = None
    for name, value in scope.get("headers", ()):
        if name == HEADER_KEY:
            if raw_id is None:
                raw_id = value.decode("latin-1")
        elif name == _CONTENT_LENGTH and content_length is None:
            content_length = value
    request_id = request_id_from(raw_id)
    scope.setdefault("state", {})["request_id"] = request_id
    _bind_contextvars(request_id=request_id)
    return request_id, content_length


class _Exchange:
    """One HTTP request as the app sees it: ``send`` notes the response's status and puts the gateway's headers on
    its head; ``receive`` counts the body against the limit."""

    __slots__ = ("_limit", "_receive", "_send", "received", "request_id", "scope", "status")

    def __init__(self, scope: Scope, receive: Receive, send: Send, request_id: str, limit: BodyLimit) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.request_id = request_id
        self._limit = limit
        self.status = 500  # what the client gets when the app raises before answering
        self.received = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = list(message.get("headers", ()))
            add_limit_headers(headers, self.scope.get("state", {}))
            add_request_id(headers, self.request_id)
            _set_default(headers, _NOSNIFF)
            if self.scope["path"].startswith(_CREDENTIAL_PATHS):
                _set_default(headers, _NO_STORE)
            message["headers"] = headers
        await self._send(message)

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self._limit.check(self.received)
        return message


class GatewayMiddleware:
    """Request id, body limit, response headers, audit, metrics and the access log for every HTTP request; the
    request id for every WebSocket connection."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.body_limit = BodyLimit(max_body_bytes)
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, content_length = _start(scope)
        exchange = _Exchange(scope, receive, send, request_id, self.body_limit)
        try:
            pending = begin_request(scope)
            try:
                refusal = self.body_limit.refusal(scope, content_length)
                if refusal is None:
                    await self.app(scope, exchange.receive, exchange.send)
                else:
                    await refusal(scope, receive, exchange.send)
            finally:
                await end_request(scope, pending, exchange.status)
        finally:
            elapsed = time.perf_counter() - started
            record_request(scope, exchange.status, elapsed)
            if self.access_log:
                # The path only: a query string may hold a credential (the stream's ?token=, a pasted key).
                access_log.info(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    status=exchange.status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            _unbind_contextvars("request_id")

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No wrapper: every frame of a long-lived connection would pay for it.
        _start(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _unbind_contextvars("request_id")
