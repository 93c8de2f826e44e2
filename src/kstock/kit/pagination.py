"""``page`` / ``per_page`` query parameters and the ``meta`` object of every list response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Query
from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

MAX_PER_PAGE: Final = 100
MAX_PAGE: Final = 100_000


@dataclass(frozen=True)
class between:  # noqa: N801 - used like a function inside Annotated[...]
    """``low <= value <= high`` with the message "must be between low and high", declared as ``minimum`` /
    ``maximum`` in the JSON schema."""

    low: int
    high: int

    def _check(self, value: int) -> int:
        if not self.low <= value <= self.high:
            raise ValueError(f"must be between {self.low} and {self.high}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "minimum": self.low, "maximum": self.high}


class Page(BaseModel):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def page_params(
    page: Annotated[
        int,
        Query(description="1-based page number"),
        between(1, MAX_PAGE),
    ] = 1,
    per_page: Annotated[
        int,
        Query(description="items per page"),
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
