"""The OpenAPI document: FastAPI's, finished so that it says what the server really does.

FastAPI writes the operations, parameters and models. :func:`finish` then puts in what it cannot know:

* the one validation error: a 400 ``ErrorBody`` (``VALIDATION_ERROR``) where FastAPI advertises its 422
  ``HTTPValidationError`` (422 stays only where an operation declares its own semantic refusals);
* the headers every /v1 response may carry (``X-Request-ID``, the rate-limit fields) and ``Retry-After`` on 429;
* the credentials: optional on public /v1 reads, an admin's access token on /v1/admin;
* bounds of what the server sends (integers are int64, strings and lists have a length) where the models
  leave them open; what a client sends is bounded by the models themselves, which enforce it;
* an example for every response and request body that has none, built from the schema's own examples.

The document is built once per application and cached (``app.openapi_schema``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from kstock.kit.fields import SELECTABLE_MODELS
from kstock.kit.openapi import OPTIONAL_CREDENTIALS, add_body_schemas

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_REF = "#/components/schemas/"
_HEADER_REF = "#/components/headers/"

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request id (echoed when the request sent a well-formed one); also in error bodies.",
        "schema": {"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]{8,128}$"},
        "example": "3f2b6c1e-4d1a-4a58-9f7e-0c6a1b2d3e4f",
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the most constraining window (sent when rate limiting is on).",
        "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": _INT32[1]},
        "example": 60,
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that window.",
        "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": _INT32[1]},
        "example": 59,
    },
    "X-RateLimit-Reset": {
        "description": "When that window resets: an ISO 8601 UTC time, to the second (`RateLimit` gives the delta).",
        "schema": {
            "type": "string",
            "format": "date-time",
            "maxLength": 20,
            "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$",
        },
        "example": "2026-11-23T04:18:00Z",
    },
    "RateLimit": {
        "description": "IETF draft-07 RateLimit field: limit, remaining and reset (delta seconds).",
        "schema": {"type": "string", "maxLength": 100, "pattern": "^limit=\\d+, remaining=\\d+, reset=\\d+$"},
        "example": "limit=60, remaining=59, reset=42",
    },
    "RateLimit-Policy": {
        "description": "IETF draft-07 RateLimit-Policy field: every limit that applied, `limit;w=window_s`.",
        "schema": {"type": "string", "maxLength": 200, "pattern": "^\\d+;w=\\d+(, \\d+;w=\\d+)*$"},
        "example": "60;w=60, 10;w=1",
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 86_400},
        "example": 42,
    },
}
_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy")

# The error codes shown in each status's example body.
_ERROR_EXAMPLES: dict[str, tuple[str, str]] = {
    "400": ("VALIDATION_ERROR", "Invalid request parameters"),
    "401": ("UNAUTHORIZED", "Authentication required"),
    "403": ("FORBIDDEN", "Not allowed"),
    "404": ("NOT_FOUND", "Resource not found"),
    "405": ("METHOD_NOT_ALLOWED", "Method not allowed"),
    "409": ("CONFLICT", "Conflict with the current state"),
    "413": ("PAYLOAD_TOO_LARGE", "Request body too large"),
    "422": ("UNPROCESSABLE_ENTITY", "The request cannot be processed"),
    "429": ("RATE_LIMIT_EXCEEDED", "Rate limit exceeded"),
    "500": ("INTERNAL_ERROR", "Internal server error"),
    "503": ("SERVICE_UNAVAILABLE", "A dependency is unavailable"),
}

# Lengths of strings the server sends, by property name: the widths of the columns they come from.
_OUT_LENGTHS: dict[str, int] = {
    "code": 6,
    "stock_code": 6,
    "isin": 12,
    "market": 10,
    "segment": 50,
    "sector": 100,
    "industry": 200,
    "name": 200,
    "name_en": 200,
    "stock_name": 200,
    "email": 320,
    "prefix": 16,
    "event": 50,
    "actor_key_prefix": 16,
    "ip": 45,
    "method": 10,
    "path": 2048,
    "request_id": 128,
    "description": 1000,
    "status": 32,
    "state": 32,
    "side": 8,
    "order_type": 16,
    "time_in_force": 8,
    "source": 32,
}
# Formats whose length is known.
_FORMAT_LENGTHS = {"date": 10, "date-time": 35, "uuid": 36, "email": 320}
# Any other string the server sends: tokens, messages, labels; all well under this.
_OUT_MAX_LENGTH = 4096
# Lists the server sends: pages hold at most 100 items; the longest unpaged lists (a price history, a value
# history, the positions of an account) are bounded by the trading days and the listed stocks, both far below.
_OUT_MAX_ITEMS = 100_000
_JWT = (
    "A signed JWT (HS256) following RFC8725: the algorithm is pinned (alg none and every other one are refused), "
    "iss, aud, exp and typ are required and checked, and access tokens are short-lived (refresh tokens rotate)."
)
_ADMIN_SECURITY: list[dict[str, list[str]]] = [{"AdminBearer": []}]


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the finished document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's ``document`` (see the module's docstring); returns it."""
    add_body_schemas(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _security(document)
    _validation_errors(document)
    components.setdefault("headers", {}).update(copy.deepcopy(HEADERS))
    _response_headers(document)
    _bound_outputs(document)
    _integer_formats(document)
    _field_selections(document)
    _tags(document)
    _examples(document)
    for name in ("HTTPValidationError", "ValidationError"):
        if not _is_referenced(document, name):
            schemas.pop(name, None)
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def _security(document: dict[str, Any]) -> None:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["HTTPBearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"An access token from /v1/auth/login. {_JWT}",
    }
    schemes.setdefault("APIKeyHeader", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    schemes["AdminBearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"An access token of a user with the admin role; API keys are refused (403). {_JWT}",
    }
    for path, _method, operation in _operations(document):
        if path.startswith("/v1/admin/"):
            operation["security"] = copy.deepcopy(_ADMIN_SECURITY)
        elif path.startswith("/v1/"):
            operation.setdefault("security", copy.deepcopy(OPTIONAL_CREDENTIALS))


def _validation_errors(document: dict[str, Any]) -> None:
    """FastAPI's 422 ``HTTPValidationError`` is never sent: validation failures are a 400 ``ErrorBody``."""
    for _path, _method, operation in _operations(document):
        responses = operation["responses"]
        declared = responses.get("422")
        if declared is not None and _refers_to(declared, "HTTPValidationError"):
            del responses["422"]
            responses.setdefault(
                "400",
                {
                    "description": "Invalid parameters (VALIDATION_ERROR)",
                    "content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorBody"}}},
                },
            )


def _response_headers(document: dict[str, Any]) -> None:
    for path, _method, operation in _operations(document):
        limited = path.startswith("/v1/")
        for status, response in operation["responses"].items():
            headers = response.setdefault("headers", {})
            headers.setdefault("X-Request-ID", {"$ref": f"{_HEADER_REF}X-Request-ID"})
            if limited and status[:1] in "245":
                for name in _LIMIT_HEADERS:
                    headers.setdefault(name, {"$ref": f"{_HEADER_REF}{name}"})
            if status == "429":
                headers.setdefault("Retry-After", {"$ref": f"{_HEADER_REF}Retry-After"})


def _input_schema_names(document: dict[str, Any]) -> set[str]:
    """Component schemas reachable from a request body or a parameter."""
    schemas = document["components"]["schemas"]
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                name = ref.removeprefix(_REF)
                if name not in found and name in schemas:
                    found.add(name)
                    visit(schemas[name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for _path, _method, operation in _operations(document):
        visit(operation.get("requestBody"))
        visit(operation.get("parameters"))
    return found


def _bound_outputs(document: dict[str, Any]) -> None:
    """Lengths and ranges of what the server sends, where its models leave them open."""
    schemas = document["components"]["schemas"]
    inputs = _input_schema_names(document)
    for name, schema in schemas.items():
        if name not in inputs:
            _bound_output(schema, None)


def _bound_output(node: Any, prop: str | None) -> None:
    if isinstance(node, list):
        for value in node:
            _bound_output(value, prop)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "integer":
        node.setdefault("minimum", _INT64[0])
        node.setdefault("maximum", _INT64[1])
    elif kind == "string" and not any(key in node for key in ("maxLength", "enum", "const")):
        length = _FORMAT_LENGTHS.get(node.get("format", "")) or _OUT_LENGTHS.get(prop or "", _OUT_MAX_LENGTH)
        node["maxLength"] = length
    elif kind == "array":
        node.setdefault("maxItems", _OUT_MAX_ITEMS)
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for child_name, child in value.items():
                _bound_output(child, child_name)
        elif key in ("anyOf", "oneOf", "allOf"):
            _bound_output(value, prop)
        elif key in ("items", "additionalProperties"):
            _bound_output(value, None)


def _integer_formats(document: dict[str, Any]) -> None:
    """``int32``/``int64`` on every integer, from its declared range (int64 when it has none)."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer" and "format" not in node:
                low, high = node.get("minimum", _INT64[0]), node.get("maximum", _INT64[1])
                node["format"] = "int32" if _INT32[0] <= low and high <= _INT32[1] else "int64"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document.get("paths"))
    visit(document.get("components", {}).get("schemas"))
    visit(document.get("components", {}).get("headers"))


_TAGS = {
    "screener": "Screening the market: one-off screens and saved ones",
    "portfolios": "Portfolios, their ledger, holdings, performance and CSV exports",
    "auth": "Registration, sign-in, token refresh and sign-out",
    "users": "The signed-in user",
    "api-keys": "API keys of the signed-in user",
    "admin": "Administration (admins only, with an access token)",
}


def _tags(document: dict[str, Any]) -> None:
    """Declare every tag an operation uses."""
    declared = document.setdefault("tags", [])
    names = {tag["name"] for tag in declared}
    for _path, _method, operation in _operations(document):
        for name in operation.get("tags", []):
            if name not in names:
                names.add(name)
                declared.append({"name": name, "description": _TAGS.get(name, name)})


def _field_selections(document: dict[str, Any]) -> None:
    """Where an operation takes ``fields=``, its 200 body may hold any subset of the selectable models' fields
    (nested ones too): declared as ``anyOf`` the model and its ``...Selection`` form, which requires nothing."""
    schemas = document["components"]["schemas"]
    selectable = {name for name in SELECTABLE_MODELS if name in schemas}
    if not selectable:
        return

    def selection_of(name: str) -> str:
        selection = f"{name}Selection"
        if selection not in schemas:
            schemas[selection] = {}  # placeholder: a model may refer to itself
            trimmed = _replace_refs(copy.deepcopy(schemas[name]), lambda ref: f"{_REF}{selection_of(ref)}")
            trimmed.pop("required", None)
            trimmed["title"] = f"{schemas[name].get('title', name)} (fields=)"
            trimmed["description"] = f"{name} trimmed by fields=: the fields asked for and those always included."
            schemas[selection] = trimmed
        return selection

    swapped: set[str] = set()

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                name = ref.removeprefix(_REF)
                if name in selectable:
                    return {"anyOf": [{"$ref": ref}, {"$ref": f"{_REF}{selection_of(name)}"}]}
                if name not in swapped and _reaches(schemas, name, selectable):
                    swapped.add(name)  # a wrapper (a page of them): its items may be trimmed, wherever it is sent
                    schemas[name] = swap(schemas[name])
                return node
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return node

    for _path, _method, operation in _operations(document):
        if not any(p.get("name") == "fields" and p.get("in") == "query" for p in operation.get("parameters", [])):
            continue
        media = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if media is not None and "schema" in media:
            media["schema"] = swap(media["schema"])


def _replace_refs(node: Any, to: Any) -> Any:
    """``node`` with every component ``$ref`` (to a model) replaced by ``to(name)``, in place."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF) and len(node) == 1:
            node["$ref"] = to(ref.removeprefix(_REF))
        for value in node.values():
            _replace_refs(value, to)
    elif isinstance(node, list):
        for value in node:
            _replace_refs(value, to)
    return node


def _reaches(schemas: dict[str, Any], name: str, targets: set[str], seen: set[str] | None = None) -> bool:
    seen = seen if seen is not None else set()
    if name in seen:
        return False
    seen.add(name)
    text = repr(schemas.get(name))
    for target in targets:
        if f"'{_REF}{target}'" in text:
            return True
    return any(
        _reaches(schemas, other, targets, seen) for other in schemas if other not in seen and f"'{_REF}{other}'" in text
    )


def _examples(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for _path, _method, operation in _operations(document):
        body = operation.get("requestBody")
        if body is not None:
            for media in body.get("content", {}).values():
                if "example" not in media and "examples" not in media and "schema" in media:
                    media["example"] = example_of(media["schema"], schemas)
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                if "example" in media or "examples" in media:
                    continue
                schema = media.get("schema")
                if schema is not None and _refers_to(schema, "ErrorBody"):
                    code, message = _ERROR_EXAMPLES.get(status, ("INTERNAL_ERROR", "Internal server error"))
                    example = example_of(schema, schemas)
                    media["example"] = {**example, "error": code, "message": message, "details": {}}
                elif schema is not None:
                    media["example"] = example_of(schema, schemas)
                elif media_type.startswith("text/csv"):
                    media.setdefault("schema", {"type": "string", "maxLength": 10_000_000})
                    media["example"] = "stock_code,quantity\n005930,10\n"


def example_of(schema: Any, schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value of ``schema`` made from its own examples and defaults (the first of each)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return example_of(schemas.get(ref.removeprefix(_REF)), schemas, depth + 1)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "properties" in schema:
        properties = schema["properties"]
        return {name: example_of(sub, schemas, depth + 1) for name, sub in properties.items()}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [choice for choice in schema[key] if choice.get("type") != "null"]
            return example_of(choices[0], schemas, depth + 1) if choices else None
    if "allOf" in schema:
        return example_of(schema["allOf"][0], schemas, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: example_of(sub, schemas, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        return max(schema.get("minimum", 0), 0) if schema.get("maximum", 1) >= 0 else schema["maximum"]
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    if kind == "string":
        return _string_example(schema)
    return None


def _string_example(schema: dict[str, Any]) -> str:
    by_format = {
        "date": "2026-11-20",
        "date-time": "2026-11-20T06:30:00Z",
        "uuid": "3f2b6c1e-4d1a-4a58-9f7e-0c6a1b2d3e4f",
        "email": "user@example.com",
    }
    return by_format.get(schema.get("format", ""), "string")


def _refers_to(node: Any, name: str) -> bool:
    return f"{_REF}{name}" in repr(node)


def _is_referenced(document: dict[str, Any], name: str) -> bool:
    return f"'{_REF}{name}'" in repr(document)
