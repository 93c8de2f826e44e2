"""The ``fields=`` selector: return only the named (dotted) fields of a response object."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard, get_args

from fastapi import Query
from pydantic import BaseModel

from kstock.errors import ValidationError

FieldSelection = dict[str, Any]  # nested: {"code": True, "latest_price": {"close_price": True}}
# Names of the response models that ``fields=`` trims (those whose paths were asked for): the OpenAPI document
# declares their trimmed form where an operation takes ``fields`` (kstock.openapi).
SELECTABLE_MODELS: set[str] = set()


def parse_fields(raw: str | None, valid: Iterable[str], always: Iterable[str] = ()) -> FieldSelection | None:
    """Parse ``a,b.c`` into a selection tree; None when no selection was asked for.

    Unknown names are a 400 that lists the valid ones.
    """
    if raw is None or not raw.strip():
        return None
    valid_set = set(valid)
    requested = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in requested if name not in valid_set]
    if unknown:
        raise ValidationError(
            "Unknown field in fields=",
            {"fields": [f"unknown: {', '.join(unknown)}; valid fields: {', '.join(sorted(valid_set))}"]},
        )
    tree: FieldSelection = {}
    for name in [*always, *requested]:
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is True:  # the whole parent is already selected
                break
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = True
    return tree


def fields_pattern(valid: Iterable[str]) -> str:
    """The JSON Schema ``pattern`` of a ``fields=`` value: exactly what :func:`parse_fields` accepts (names of
    ``valid`` separated by commas, blanks around them and empty entries ignored)."""
    names = "|".join(re.escape(name) for name in sorted(valid, key=len, reverse=True))
    entry = rf"\s*(?:(?:{names})\s*)?"
    return rf"^{entry}(?:,{entry})*$"


def fields_query(valid: Iterable[str], description: str, example: str) -> Any:
    """The ``fields`` query parameter of an endpoint that trims its response to ``valid`` names: its document
    ``pattern`` is exactly what :func:`parse_fields` accepts."""
    return Query(
        description=description,
        examples=[example],
        max_length=2000,
        json_schema_extra={"pattern": fields_pattern(valid)},
    )


def select(obj: Mapping[str, Any], selection: FieldSelection | None) -> dict[str, Any]:
    """The part of ``obj`` named by ``selection`` (all of it when None); a null parent stays null."""
    if selection is None:
        return dict(obj)
    result: dict[str, Any] = {}
    for key, sub in selection.items():
        if key not in obj:
            continue
        value = obj[key]
        if sub is True or not isinstance(value, Mapping):
            result[key] = value
        else:
            result[key] = select(value, sub)
    return result


def model_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every selectable path of a response model: each field, and each field of nested models (dotted)."""
    if not prefix:
        SELECTABLE_MODELS.add(model.__name__)
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        nested = [arg for arg in (info.annotation, *get_args(info.annotation)) if _is_model(arg)]
        if nested:
            paths.extend(model_paths(nested[0], f"{path}."))
    return paths


def _is_model(candidate: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)
