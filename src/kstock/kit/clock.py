"""Time helpers. SQLite hands back naive datetimes for timezone-aware columns: they are UTC."""

from __future__ import annotations

import datetime as dt
from typing import overload


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: dt.datetime | None) -> dt.datetime | None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime (naive values from SQLite are UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, as every timestamp in the API."""
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")
