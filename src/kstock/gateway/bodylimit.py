"""The largest request body the API reads (``KSTOCK_MAX_BODY_BYTES``): a larger one is a 413 in the one error
body, refused from its ``Content-Length`` before it is read, or as soon as a chunked body grows past the limit."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kstock.errors import AppError
from kstock.gateway.errors import render


class PayloadTooLargeError(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body too large"


class BodyLimitMiddleware:
    """Pure ASGI: checks the declared length, and counts the bytes of bodies sent without one."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        details = {"max_body_bytes": limit}
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    message = f"Request body larger than {limit} bytes"
                    response = render(Request(scope), 413, PayloadTooLargeError.code, message, details)
                    await response(scope, receive, send)
                    return
                break
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLargeError(f"Request body larger than {limit} bytes", details)
            return message

        await self.app(scope, limited, send)
