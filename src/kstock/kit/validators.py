"""Lenient spellings accepted by enum-like parameters (``BeforeValidator``), and strict ids."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Final

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from starlette.convertors import Convertor, register_url_convertor


def upper(value: object) -> object:
    """``kospi`` as ``KOSPI``; anything but a string is left for validation to refuse."""
    return value.upper() if isinstance(value, str) else value


def lower(value: object) -> object:
    """``DESC`` as ``desc``; anything but a string is left for validation to refuse."""
    return value.lower() if isinstance(value, str) else value


UUID_MESSAGE: Final = "must be a UUID (8-4-4-4-12 hex digits)"
UUID_PATTERN: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID = re.compile(UUID_PATTERN)


def _uuid(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and _UUID.fullmatch(value):
        return uuid.UUID(value)
    raise PydanticCustomError("uuid_parsing", UUID_MESSAGE)


# An id in a request: the hyphenated 36-character form only (what every response shows).
StrictUUID = Annotated[
    uuid.UUID,
    BeforeValidator(_uuid),
    WithJsonSchema(
        {"type": "string", "format": "uuid", "pattern": UUID_PATTERN, "minLength": 36, "maxLength": 36},
        mode="validation",
    ),
]


class _UUIDSegment(Convertor[str]):
    """A path segment that is a hyphenated UUID, left as text for :data:`StrictUUID` to parse."""

    regex = UUID_PATTERN.strip("^$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


# ``{order_id:uuid36}``: where a literal segment (``/orders/preview``) sits beside an id, only a UUID reaches the
# id's route, so the literal's other methods are a 405 (with its ``Allow``), not a 400 for a malformed id.
register_url_convertor("uuid36", _UUIDSegment())

# Human messages for the patterns requests are checked against (a pattern failure never shows the regex).
PATTERN_MESSAGES: dict[str, str] = {UUID_PATTERN: UUID_MESSAGE}


def pattern_message(pattern: str, message: str) -> str:
    """Register ``message`` as what a failure of ``pattern`` says; returns ``pattern``."""
    PATTERN_MESSAGES[pattern] = message
    return pattern


def _json_int(value: object) -> object:
    """A JSON integer: ``10`` or ``10.0`` (the same number in JSON Schema); never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "must be an integer")
        return int(value)
    return value


# Replaces ``Strict()`` on integers of request bodies: refuses strings and booleans, takes 10.0 as 10.
JsonInt = BeforeValidator(_json_int)

STOCK_CODE_PATTERN: Final = pattern_message(
    r"^[0-9A-Za-z]{6}$", "must be a 6-character stock code (digits and letters, e.g. 005930)"
)
