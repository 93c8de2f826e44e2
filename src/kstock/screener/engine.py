"""The screening engine: a validated screen definition, compiled once, evaluated over the in-memory table.

A screen never touches the database: it is a handful of vectorised comparisons over numpy columns, a pass over
a cached sort order, and the rendering of one page of rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kstock.errors import ValidationError
from kstock.market.fields import BY_NAME, DEFAULT_FIELDS, FIELDS, SORTABLE, ScreenField
from kstock.market.query import (
    Leaf,
    Node,
    between,
    combine,
    leaf,
    lookup_field,
    matches,
    parse_where,
    referenced_fields,
)
from kstock.market.table import Indices, ScreenTable
from kstock.screener.schemas import ScreenDefinition

RETURNABLE = tuple(f.name for f in FIELDS)


@dataclass(frozen=True, slots=True)
class ScreenQuery:
    condition: Node | None  # None: every listed stock
    sort_by: str
    descending: bool
    fields: tuple[str, ...]  # returned besides code and name


def compile_screen(definition: ScreenDefinition) -> ScreenQuery:
    """Check a definition against the field catalog: 400 for unknown fields or misused operators, 422 for an
    empty range."""
    nodes: list[Node] = []
    if definition.market.value != "ALL":
        nodes.append(Leaf(BY_NAME["market"], "==", definition.market.value))
    for name, spec in definition.filters.items():
        path = f"filters.{name}"
        field = lookup_field(name, path)
        if spec.min is not None or spec.max is not None:
            if not field.numeric:
                raise ValidationError(
                    f"min / max apply to numeric fields; {name} takes {', '.join(field.operators)}",
                    {path: [f"min / max do not apply to {field.kind.value} field {name}"]},
                )
            nodes.append(between(field, spec.min, spec.max, path))
        elif spec.in_ is not None:
            nodes.append(leaf(field, "in", spec.in_, f"{path}.in"))
        elif spec.not_in is not None:
            nodes.append(leaf(field, "not_in", spec.not_in, f"{path}.not_in"))
        else:
            nodes.append(leaf(field, "==", spec.eq, f"{path}.eq"))
    if definition.where is not None:
        nodes.append(parse_where(definition.where))
    condition = combine(nodes)

    sort_field = BY_NAME.get(definition.sort_by)
    if sort_field is None or not sort_field.sortable:
        raise ValidationError(
            f"Cannot sort by {definition.sort_by!r}",
            {"sort_by": [f"unknown or not sortable: {definition.sort_by!r}"], "sortable_fields": list(SORTABLE)},
        )
    return ScreenQuery(
        condition=condition,
        sort_by=sort_field.name,
        descending=definition.order == "desc",
        fields=_returned_fields(definition.fields, condition, sort_field),
    )


def _returned_fields(requested: list[str] | None, condition: Node | None, sort_field: ScreenField) -> tuple[str, ...]:
    if requested is None:
        names = [*DEFAULT_FIELDS, *referenced_fields(condition), sort_field.name]
    else:
        unknown = [name for name in requested if name not in BY_NAME]
        if unknown:
            raise ValidationError(
                f"Unknown field in fields: {', '.join(unknown)}",
                {"fields": [f"unknown: {', '.join(unknown)}"], "valid_fields": list(RETURNABLE)},
            )
        names = requested
    return tuple(name for name in dict.fromkeys(names) if name not in ("code", "name"))


@dataclass(frozen=True, slots=True)
class ScreenRun:
    stocks: list[dict[str, Any]]
    total: int
    query_time_ms: float


def select_rows(table: ScreenTable, query: ScreenQuery) -> Indices:
    """Every matching listed row, in the screen's order (nulls last, ties by code)."""
    mask = table.listed
    if query.condition is not None:
        mask = mask & matches(query.condition, table)
    hits = np.flatnonzero(mask)
    if hits.size * 8 >= len(table):  # a large share of the market: filter the cached order of every row
        order = table.order(query.sort_by, query.descending)
        return order[mask[order]]
    # A few rows: sort just them. Rows are in code order and the sort is stable, so ties stay by code.
    keys = table.sort_key(query.sort_by)[hits]
    return hits[np.argsort(-keys if query.descending else keys, kind="stable")]


def run(table: ScreenTable, query: ScreenQuery, offset: int, limit: int) -> ScreenRun:
    """One page of the screen's result and the total; ``query_time_ms`` covers evaluation to rendering."""
    started = time.perf_counter()
    rows = select_rows(table, query)
    stocks = render(table, rows[offset : offset + limit], query.fields)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return ScreenRun(stocks=stocks, total=int(rows.size), query_time_ms=round(elapsed_ms, 3))


def render(table: ScreenTable, rows: Indices, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The rows' ``code``, ``name`` and ``fields``, as JSON values."""
    return table.project(rows.tolist(), ("code", "name", *fields))
