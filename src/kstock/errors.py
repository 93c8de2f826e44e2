"""The one error type of kstock and the one body every client sees.

Every failure, ours or the framework's, is rendered as::

    {"error": "VALIDATION_ERROR", "message": "...", "details": {...},
     "timestamp": "2026-01-02T03:04:05.678Z", "path": "/v1/stocks", "request_id": "..."}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field


class AppError(Exception):
    """Base of every error a client may see. Subclasses fix the HTTP status and the error code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        self.error_code = code or self.code
        self.headers = dict(headers or {})
        super().__init__(self.message)


class ValidationError(AppError):
    status = 400
    code = "VALIDATION_ERROR"
    default_message = "Invalid request parameters"


class UnauthorizedError(AppError):
    status = 401
    code = "UNAUTHORIZED"
    default_message = "Authentication required"


class ForbiddenError(AppError):
    status = 403
    code = "FORBIDDEN"
    default_message = "Not allowed"


class NotFoundError(AppError):
    status = 404
    code = "NOT_FOUND"
    default_message = "Resource not found"


class MethodNotAllowedError(AppError):
    status = 405
    code = "METHOD_NOT_ALLOWED"
    default_message = "Method not allowed"


class ConflictError(AppError):
    status = 409
    code = "CONFLICT"
    default_message = "Conflict with the current state"


class UnprocessableError(AppError):
    """The request is well-formed but makes no sense (e.g. from_date after to_date)."""

    status = 422
    code = "UNPROCESSABLE_ENTITY"
    default_message = "The request cannot be processed"


class RateLimitError(AppError):
    status = 429
    code = "RATE_LIMIT_EXCEEDED"
    default_message = "Rate limit exceeded"


class ServiceUnavailableError(AppError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "A dependency is unavailable"


# The longest message and path an error body carries (longer ones are cut: details has the whole story).
MAX_MESSAGE_LENGTH = 2000
MAX_PATH_LENGTH = 2048


class ErrorBody(BaseModel):
    """The error body (declared in the OpenAPI document for every operation)."""

    error: str = Field(max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$", examples=["VALIDATION_ERROR"])
    message: str = Field(max_length=MAX_MESSAGE_LENGTH, examples=["Invalid request parameters"])
    details: dict[str, Any] = Field(default_factory=dict, examples=[{"per_page": ["must be between 1 and 100"]}])
    timestamp: str = Field(
        max_length=24, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", examples=["2026-01-02T03:04:05.678Z"]
    )
    path: str = Field(max_length=MAX_PATH_LENGTH, examples=["/v1/stocks"])
    request_id: str = Field(
        max_length=128, pattern=r"^[A-Za-z0-9._:-]{8,128}$", examples=["3f2b6c1e-4d1a-4a58-9f7e-0c6a1b2d3e4f"]
    )


def utc_timestamp() -> str:
    """Current UTC time as ISO 8601 with milliseconds and a ``Z`` (the format of ``kit.clock.iso_utc``, written
    here because the kit raises these errors: this module imports no other part of kstock)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(code: str, message: str, details: Mapping[str, Any], path: str, request_id: str) -> dict[str, Any]:
    return {
        "error": code,
        "message": message[:MAX_MESSAGE_LENGTH],
        "details": dict(details),
        "timestamp": utc_timestamp(),
        "path": path[:MAX_PATH_LENGTH],
        "request_id": request_id,
    }


_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid parameters (VALIDATION_ERROR)",
    401: "Missing or invalid credentials (UNAUTHORIZED)",
    403: "Not allowed for this user or tier",
    404: "Unknown resource (NOT_FOUND, STOCK_NOT_FOUND)",
    405: "Method not allowed (METHOD_NOT_ALLOWED)",
    409: "Conflict",
    413: "Request body over KSTOCK_MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)",
    422: "Semantically invalid request (e.g. INVALID_DATE_RANGE)",
    429: "Rate limit exceeded (RATE_LIMIT_EXCEEDED)",
    500: "Internal error, no detail (INTERNAL_ERROR)",
    503: "A dependency is down (SERVICE_UNAVAILABLE)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given statuses and 500 (any operation may fail), with the error body."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in (*statuses, 500)}
