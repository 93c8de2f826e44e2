"""Request and response models of the screener (the OpenAPI document shows them with examples)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from kstock.kit.pagination import MAX_PAGE, MAX_PER_PAGE, PageMeta, between
from kstock.kit.validators import JsonInt, lower, upper
from kstock.market.schemas import MarketFilter

Number = Annotated[float, Strict()]
Text = Annotated[str, Strict(), Field(max_length=200)]
Member = Text | Number
FieldName = Annotated[str, Field(max_length=64)]
# More than the stocks listed on KRX: a membership list never needs to be longer.
MAX_MEMBERS: Final = 5_000

SPEC_EXAMPLE: Final[dict[str, Any]] = {
    "market": "KOSPI",
    "filters": {
        "per": {"min": 0, "max": 15},
        "pbr": {"min": 0, "max": 1.5},
        "roe": {"min": 10},
        "dividend_yield": {"min": 3},
        "quality_score": {"min": 70},
    },
    "sort_by": "market_cap",
    "order": "desc",
    "page": 1,
    "per_page": 50,
}
WHERE_EXAMPLE: Final[dict[str, Any]] = {
    "market": "ALL",
    "where": {
        "and": [
            {"field": "close_price", "op": ">", "other": "sma_60"},
            {"or": [{"field": "per", "op": "<", "value": 8}, {"field": "pbr", "op": "<", "value": 0.7}]},
            {"not": {"field": "sector", "op": "in", "value": ["금융", "보험"]}},
        ]
    },
    "sort_by": "return_3m",
    "order": "desc",
    "fields": ["close_price", "sma_60", "per", "pbr", "return_3m"],
}

_WHERE_SCHEMA: Final[dict[str, Any]] = {
    "description": "Nested boolean logic: {and: [...]}, {or: [...]}, {not: {...}}, at most 8 levels and 50 "
    "conditions; a condition is {field, op, value} or {field, op, other} (column vs column). "
    "Ops: <, <=, >, >=, ==, !=, in, not_in, between ([low, high]).",
    "examples": [WHERE_EXAMPLE["where"]],
}


class Filter(BaseModel):
    """One field's condition: a range (``min`` / ``max``, inclusive), a membership or an equality."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    min: Number | None = Field(None, description="inclusive lower bound (numeric fields)")
    max: Number | None = Field(None, description="inclusive upper bound (numeric fields)")
    in_: list[Member] | None = Field(
        None,
        alias="in",
        min_length=1,
        max_length=MAX_MEMBERS,
        description="one of these values (market, sector, industry, code, or numbers)",
    )
    not_in: list[Member] | None = Field(None, min_length=1, max_length=MAX_MEMBERS, description="none of these values")
    eq: Annotated[bool, Strict()] | Text | Number | None = Field(
        None, description="equal to (true / false for flags such as profitable)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Filter:
        kinds = [self.min is not None or self.max is not None, self.in_ is not None, self.not_in is not None]
        kinds.append(self.eq is not None)
        if sum(kinds) != 1:
            raise ValueError("give one of: min and/or max, in, not_in, eq")
        return self


class ScreenDefinition(BaseModel):
    """What to screen for: the part of a screen that is saved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SPEC_EXAMPLE]})

    market: Annotated[MarketFilter, BeforeValidator(upper)] = Field(
        MarketFilter.ALL, description="KOSPI, KOSDAQ, KONEX or ALL (case-insensitive)"
    )
    filters: dict[str, Filter] = Field(
        default_factory=dict,
        description="{field: {min, max} | {in} | {not_in} | {eq}}, all must hold",
        max_length=100,
    )
    where: dict[str, Any] | None = Field(None, json_schema_extra=_WHERE_SCHEMA)
    sort_by: FieldName = Field("market_cap", description="any numeric field, or code or name; nulls always last")
    order: Annotated[Literal["asc", "desc"], BeforeValidator(lower)] = "desc"
    fields: Annotated[list[FieldName], Field(max_length=100)] | None = Field(
        None,
        description="columns to return (code and name always); default: the common figures plus every field the "
        "screen filters or sorts on",
    )


class ScreenRequest(ScreenDefinition):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SPEC_EXAMPLE, WHERE_EXAMPLE]})

    page: Annotated[int, between(1, MAX_PAGE), JsonInt] = Field(1, description="1-based page")
    per_page: Annotated[int, between(1, MAX_PER_PAGE), JsonInt] = Field(50, description="rows per page, 1-100")


class ScreenMeta(PageMeta):
    query_time_ms: float = Field(description="engine time: evaluate, sort, page and render", examples=[0.142])
    as_of: dt.date | None = Field(description="the latest trade date in the snapshot", examples=["2026-11-20"])


class ScreenResult(BaseModel):
    stocks: list[dict[str, Any]] = Field(
        examples=[
            [
                {
                    "code": "005930",
                    "name": "삼성전자",
                    "close_price": 71000,
                    "per": 13.25,
                    "pbr": 1.21,
                    "roe": 9.12,
                    "dividend_yield": 2.03,
                    "quality_score": 74.5,
                }
            ]
        ]
    )
    meta: ScreenMeta


class FieldInfo(BaseModel):
    name: str = Field(examples=["per"])
    type: str = Field(
        description="integer, number, string or boolean (text: return and sort only)", examples=["number"]
    )
    unit: str | None = Field(examples=["x"])
    group: str = Field(examples=["valuation"])
    description: str = Field(examples=["close / trailing-twelve-month EPS; null for loss-makers"])
    sortable: bool = Field(examples=[True])
    filterable: bool = Field(examples=[True])
    operators: list[str] = Field(examples=[["<", "<=", ">", ">=", "==", "!=", "between", "in", "not_in"]])
    values: list[str] | None = Field(None, description="the values present (market, sector, industry)")


class FieldList(BaseModel):
    fields: list[FieldInfo]
    meta: dict[str, Any] = Field(examples=[{"count": 48}])


# -- saved screens ---------------------------------------------------------------------------------------------

Name = Annotated[str, Field(min_length=1, max_length=100, examples=["Cheap quality dividend payers"])]


class SavedScreenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    definition: ScreenDefinition


class SavedScreen(BaseModel):
    id: uuid.UUID
    name: Name
    definition: dict[str, Any] = Field(examples=[{k: v for k, v in SPEC_EXAMPLE.items() if "page" not in k}])
    created_at: dt.datetime
    updated_at: dt.datetime


class SavedScreenList(BaseModel):
    screens: list[SavedScreen]
    meta: dict[str, Any] = Field(examples=[{"count": 2, "limit": 3}])
