"""Request bodies that a route reads itself (for speed) but the OpenAPI document still describes.

FastAPI validates a declared body through its dependency machinery: JSON to Python objects, then the model.
A hot route can instead read the bytes and call ``Model.model_validate_json`` (one pass in pydantic-core), and
declare the body with :func:`json_body`; :func:`add_body_schemas` puts the models into the document.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
# An operation's ``security`` when credentials are optional (anonymous callers are served too).
OPTIONAL_CREDENTIALS: list[dict[str, list[str]]] = [{}, {"HTTPBearer": []}, {"APIKeyHeader": []}]
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel], examples: dict[str, Any]) -> dict[str, Any]:
    """The route's ``openapi_extra``: a required JSON body of ``model`` with named examples."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema, "examples": examples}}}
    }


def add_body_schemas(document: dict[str, Any]) -> None:
    """Add the schemas of the models registered by :func:`json_body` (and the models they use)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _BODY_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas.setdefault(name, schema)


def parse_body(model: type[M], raw: bytes) -> M:
    """``raw`` validated as ``model``; failures are the framework's validation error (the one 400 body)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
