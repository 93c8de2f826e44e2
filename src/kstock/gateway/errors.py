"""Renders every error, ours and the framework's, as the one error body."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from kstock.errors import AppError, error_body
from kstock.gateway.request_id import HEADER, request_id_from
from kstock.kit.responses import JSONResponse
from kstock.kit.validators import PATTERN_MESSAGES

log = structlog.get_logger("kstock.errors")

_LOCATIONS = {"query", "path", "body", "header", "cookie"}
_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
}
_HTTP_MESSAGES = {404: "Resource not found", 405: "Method not allowed"}


def _request_id(request: Request) -> str:
    state_id = request.scope.get("state", {}).get("request_id")
    return str(state_id) if state_id else request_id_from(request.headers.get(HEADER))


def render(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error response for ``request``; carries the request id in the body and the header."""
    request_id = _request_id(request)
    body = error_body(code, message, details or {}, request.url.path, request_id)
    # An unhandled exception is answered outside the gateway middleware: nosniff is set here too.
    all_headers = {HEADER: request_id, "X-Content-Type-Options": "nosniff", **(headers or {})}
    return JSONResponse(body, status_code=status, headers=all_headers)


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "request"


def _choices(expected: str) -> str:
    names = re.findall(r"'([^']*)'", expected)
    return ", ".join(names) if names else expected


def _message(error: Mapping[str, Any]) -> str:
    """A short, human message for one pydantic error (``must be ...`` style, as the API spec shows)."""
    kind = error.get("type", "")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    simple = {
        "missing": "is required",
        "int_parsing": "must be an integer",
        "int_type": "must be an integer",
        "int_from_float": "must be an integer",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "bool_parsing": "must be true or false",
        "date_parsing": "must be a date (YYYY-MM-DD)",
        "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
        "date_type": "must be a date (YYYY-MM-DD)",
        "json_invalid": "must be valid JSON",
        "string_type": "must be a string",
        "extra_forbidden": "is not a known field",
        "model_attributes_type": "must be an object",
        "dict_type": "must be an object",
        "list_type": "must be a list",
    }
    if kind in simple:
        return simple[kind]
    if kind in ("literal_error", "enum"):
        return f"must be one of: {_choices(str(ctx.get('expected', '')))}"
    bounds = {
        "greater_than_equal": ("must be >= {}", "ge"),
        "greater_than": ("must be > {}", "gt"),
        "less_than_equal": ("must be <= {}", "le"),
        "less_than": ("must be < {}", "lt"),
        "string_too_short": ("must have at least {} characters", "min_length"),
        "string_too_long": ("must have at most {} characters", "max_length"),
        "too_short": ("must have at least {} items", "min_length"),
        "too_long": ("must have at most {} items", "max_length"),
    }
    if kind in bounds:
        template, key = bounds[kind]
        return template.format(ctx.get(key))
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(str(ctx.get("pattern", "")), "has an invalid format")
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


def validation_details(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Pydantic errors as ``{field: [message, ...]}``."""
    details: dict[str, list[str]] = {}
    for error in errors:
        messages = details.setdefault(_field_name(error.get("loc", ())), [])
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return details


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    if exc.status >= 500:
        log.error("app_error", code=exc.error_code, message=exc.message, path=request.url.path)
    return render(request, exc.status, exc.error_code, exc.message, exc.details, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return render(request, 400, "VALIDATION_ERROR", "Invalid request parameters", validation_details(exc.errors()))


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method the request's path supports, for the ``Allow`` header of a 405.

    The router answers 405 from the first route whose path matched, which knows only its own methods; a path
    served by several routes (one per method) supports all of theirs. Each method is asked of the router's
    routes as a full match (included routers answer for the routes they hold).
    """
    routes = request.app.router.routes
    allowed = []
    for method in _METHOD_ORDER:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR")
    message = _HTTP_MESSAGES.get(exc.status_code) or (str(exc.detail) if exc.status_code < 500 else "Internal error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return render(request, exc.status_code, code, message, {}, headers)


async def _unhandled(request: Request, exc: Exception) -> Response:
    # The client learns nothing of the failure; the log has the traceback, keyed by the request id.
    log.exception("unhandled_exception", path=request.url.path, method=request.method, exc_info=exc)
    return render(request, 500, "INTERNAL_ERROR", "Internal server error", {})


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type to the one error body."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
