"""``page`` / ``per_page`` query parameters and the ``meta`` object of every list response."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, Field

MAX_PER_PAGE: Final = 100
MAX_PAGE: Final = 100_000


def between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return AfterValidator(check)


class Page(BaseModel):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def page_params(
    page: Annotated[
        int,
        Query(description="1-based page number", json_schema_extra={"minimum": 1, "maximum": MAX_PAGE}),
        between(1, MAX_PAGE),
    ] = 1,
    per_page: Annotated[
        int,
        Query(description="items per page", json_schema_extra={"minimum": 1, "maximum": MAX_PER_PAGE}),
        between(1, MAX_PER_PAGE),
    ] = 50,
) -> Page:
    return Page(page=page, per_page=per_page)


PageDep = Annotated[Page, Depends(page_params)]


class PageMeta(BaseModel):
    page: int = Field(examples=[1])
    per_page: int = Field(examples=[50])
    total: int = Field(examples=[2400])
    pages: int = Field(examples=[48])


def page_meta(page: Page, total: int) -> dict[str, int]:
    """The ``meta`` object: ``pages`` is 0 for an empty result."""
    pages = (total + page.per_page - 1) // page.per_page
    return {"page": page.page, "per_page": page.per_page, "total": total, "pages": pages}
