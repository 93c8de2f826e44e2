"""Lenient spellings accepted by enum-like parameters (``BeforeValidator``), and strict ids."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Final

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


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

# Human messages for the patterns requests are checked against (a pattern failure never shows the regex).
PATTERN_MESSAGES: dict[str, str] = {UUID_PATTERN: UUID_MESSAGE}


def pattern_message(pattern: str, message: str) -> str:
    """Register ``message`` as what a failure of ``pattern`` says; returns ``pattern``."""
    PATTERN_MESSAGES[pattern] = message
    return pattern
