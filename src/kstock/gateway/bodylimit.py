"""The largest request body the API reads (``KSTOCK_MAX_BODY_BYTES``): a larger one is a 413 in the one error
body, refused from its ``Content-Length`` before it is read, or as soon as a chunked body grows past the limit.

The gateway middleware (:mod:`kstock.gateway.middleware`) applies it to every HTTP request.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from kstock.errors import AppError
from kstock.gateway.errors import render


class PayloadTooLargeError(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body too large"


class BodyLimit:
    """Checks a request's declared length, and counts the bytes of a body as it is read."""

    __slots__ = ("max_bytes",)

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"Request body larger than {self.max_bytes} bytes"

    def _details(self) -> dict[str, Any]:
        return {"max_body_bytes": self.max_bytes}

    def refusal(self, scope: Scope, content_length: bytes | None) -> Response | None:
        """The 413 for a request whose ``Content-Length`` is malformed or over the limit; None otherwise."""
        if content_length is None or (content_length.isdigit() and int(content_length) <= self.max_bytes):
            return None
        return render(Request(scope), 413, PayloadTooLargeError.code, self._message(), self._details())

    def check(self, received: int) -> None:
        """Raise :class:`PayloadTooLargeError` once ``received`` body bytes are over the limit."""
        if received > self.max_bytes:
            raise PayloadTooLargeError(self._message(), self._details())
