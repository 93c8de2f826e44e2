"""Request ids: echo a well-formed incoming ``X-Request-ID`` or make one, and put it on every response."""

from __future__ import annotations

import re
import uuid
from typing import Final

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "X-Request-ID"
_VALID: Final = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def request_id_from(raw: str | None) -> str:
    """The client's id when it is safe to echo (no spaces, no control characters, 8-128 chars), else a new uuid4."""
    if raw and _VALID.match(raw):
        return raw
    return str(uuid.uuid4())


class RequestIdMiddleware:
    """Pure ASGI middleware (no per-request task), so it costs microseconds and never buffers bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                raw = value.decode("latin-1")
                break
        request_id = request_id_from(raw)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers.append(HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
