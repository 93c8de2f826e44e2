"""Date-range parameters: the one refusal of a range that runs backwards."""

from __future__ import annotations

import datetime as dt

from kstock.errors import UnprocessableError


def require_order(start: dt.date, end: dt.date) -> None:
    """422 INVALID_DATE_RANGE when ``from_date`` (``start``) is after ``to_date`` (``end``)."""
    if start > end:
        raise UnprocessableError(
            "from_date is after to_date",
            {"from_date": [f"must not be after to_date ({end.isoformat()})"]},
            code="INVALID_DATE_RANGE",
        )
