"""Dates and times in requests, strictly ISO 8601, and the one refusal of a range that runs backwards.

Pydantic's lax parsing would take ``0`` or ``20250101`` as Unix timestamps; a request date is only ``YYYY-MM-DD``
(and a request time an ISO 8601 text), with one message when it is anything else.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from kstock.errors import UnprocessableError

DATE_MESSAGE: Final = "must be a date (YYYY-MM-DD)"
DATETIME_MESSAGE: Final = "must be an ISO 8601 time (2026-03-02 or 2026-03-02T18:00:00+09:00)"
DATE_PATTERN: Final = r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
DATETIME_PATTERN: Final = (
    r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?$"
)
# RFC 3339 (the JSON Schema date-time format): a date, a time and an offset.
RFC3339_PATTERN: Final = (
    r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
RFC3339_MESSAGE: Final = "must be a time with an offset (2027-01-01T00:00:00Z or 2027-01-01T09:00:00+09:00)"
_DATE = re.compile(DATE_PATTERN)
_RFC3339 = re.compile(RFC3339_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)


def _iso_date(value: object) -> object:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_parsing", DATE_MESSAGE)


def _iso_datetime(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("datetime_parsing", DATETIME_MESSAGE)


def _rfc3339(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("datetime_parsing", RFC3339_MESSAGE)


# A request date: only YYYY-MM-DD (no timestamps, no 20250101, no times).
IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": DATE_PATTERN, "minLength": 10, "maxLength": 10},
        mode="validation",
    ),
]
# A request time: an ISO 8601 date or date and time, with an optional offset (no timestamps).
IsoDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema({"type": "string", "pattern": DATETIME_PATTERN, "maxLength": 32}, mode="validation"),
]


def require_order(start: dt.date, end: dt.date) -> None:
    """422 INVALID_DATE_RANGE when ``from_date`` (``start``) is after ``to_date`` (``end``)."""
    if start > end:
        raise UnprocessableError(
            "from_date is after to_date",
            {"from_date": [f"must not be after to_date ({end.isoformat()})"]},
            code="INVALID_DATE_RANGE",
        )


# A request time that must say its offset: RFC 3339 only.
AwareIsoDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_rfc3339),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN, "maxLength": 32}, mode="validation"
    ),
]
