"""Screen conditions: parsed from a request into a small tree, then evaluated over the columnar table.

Two ways to write a condition, combined with AND:

- ``filters``: ``{"per": {"min": 0, "max": 15}, "market": {"in": ["KOSPI"]}, "profitable": {"eq": true}}``;
- ``where``: nested ``{"and": [...]}`` / ``{"or": [...]}`` / ``{"not": {...}}`` whose leaves are
  ``{"field": "per", "op": "<", "value": 8}`` or ``{"field": "close_price", "op": ">", "other": "sma_60"}``.

A missing value is *unknown*, as in SQL: a condition on it is neither true nor false, so ``not`` does not select
stocks with missing data, and neither does ``!=``. This is Kleene's three-valued logic: the screen selects the
rows where the condition is definitely true (:func:`matches`), and ``not`` turns to the rows where its operand is
definitely false (:func:`fails`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from kstock.errors import UnprocessableError, ValidationError
from kstock.market.fields import BY_NAME, FIELDS, Kind, ScreenField
from kstock.market.table import ScreenTable

MAX_DEPTH: Final = 8
MAX_LEAVES: Final = 50
MAX_LIST_VALUES: Final = 3000  # an in / not_in list: the whole market's codes fit

FILTERABLE: Final = tuple(f.name for f in FIELDS if f.operators)

Mask = npt.NDArray[np.bool_]
_COMPARE: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Leaf:
    field: ScreenField
    op: str  # a comparison, "between", "in" or "not_in"
    value: Any = None  # a number, a string, a bool, a (low, high) pair or a tuple of members
    other: ScreenField | None = None  # column-vs-column comparisons


@dataclass(frozen=True, slots=True)
class Group:
    all_of: bool  # True: and, False: or
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Leaf | Group | Not


def combine(nodes: list[Node]) -> Node | None:
    """AND of ``nodes``; None (everything) when there are none."""
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else Group(all_of=True, children=tuple(nodes))


def referenced_fields(node: Node | None) -> list[str]:
    """The field names a condition reads, in order of first use."""
    names: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Leaf):
            names[n.field.name] = None
            if n.other is not None:
                names[n.other.name] = None
        elif isinstance(n, Group):
            for child in n.children:
                walk(child)
        else:
            walk(n.child)

    if node is not None:
        walk(node)
    return list(names)


# -- parsing ---------------------------------------------------------------------------------------------------


def _invalid(path: str, problem: str, message: str | None = None, **extra: Any) -> ValidationError:
    return ValidationError(message or f"Invalid screen condition at {path}: {problem}", {path: [problem], **extra})


def lookup_field(name: object, path: str) -> ScreenField:
    """The field called ``name``; a 400 listing the valid fields otherwise."""
    field = BY_NAME.get(name) if isinstance(name, str) else None
    if field is None or not field.operators:
        raise _invalid(
            path,
            f"unknown field {name!r}",
            f"Unknown screen field {name!r}",
            valid_fields=list(FILTERABLE),
        )
    return field


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: object, path: str) -> float:
    if not _is_number(value):
        raise _invalid(path, f"must be a number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _members(field: ScreenField, values: object, path: str) -> tuple[Any, ...]:
    if not isinstance(values, list) or not values:
        raise _invalid(path, "must be a non-empty list")
    if len(values) > MAX_LIST_VALUES:
        raise _invalid(path, f"at most {MAX_LIST_VALUES} values")
    if field.numeric:
        return tuple(_number(v, f"{path}[{i}]") for i, v in enumerate(values))
    if not all(isinstance(v, str) for v in values):
        raise _invalid(path, "must be a list of strings")
    return tuple(values)


def _scalar(field: ScreenField, value: object, path: str) -> Any:
    if field.numeric:
        return _number(value, path)
    if field.kind is Kind.FLAG:
        if not isinstance(value, bool):
            raise _invalid(path, f"must be true or false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise _invalid(path, f"must be a string, got {value!r}")
    return value


def between(field: ScreenField, low: float | None, high: float | None, path: str) -> Leaf:
    """An inclusive range; 422 when it is empty (low > high)."""
    if low is not None and high is not None and low > high:
        raise UnprocessableError(
            f"Empty range for {field.name}: min {low:g} is greater than max {high:g}",
            {path: [f"min ({low:g}) must not be greater than max ({high:g})"]},
            code="INVALID_RANGE",
        )
    return Leaf(field, "between", (low, high))


def leaf(field: ScreenField, op: str, value: Any, path: str) -> Leaf:
    """A validated leaf ``field op value``."""
    if op not in field.operators:
        raise _invalid(path, f"operator {op!r} does not apply to {field.name} (use {', '.join(field.operators)})")
    if op in ("in", "not_in"):
        return Leaf(field, op, _members(field, value, path))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _invalid(path, "between takes [low, high]")
        return between(field, _number(value[0], f"{path}[0]"), _number(value[1], f"{path}[1]"), path)
    return Leaf(field, op, _scalar(field, value, path))


def parse_where(raw: object, path: str = "where") -> Node:
    """Parse a nested condition; 400 when it is malformed, deeper than 8 or has more than 50 leaves."""
    leaves = [0]

    def parse(node: object, at: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _invalid(at, f"nested deeper than {MAX_DEPTH} levels", f"where is nested deeper than {MAX_DEPTH}")
        if not isinstance(node, dict):
            raise _invalid(at, "must be an object")
        groups = [key for key in ("and", "or", "not") if key in node]
        if groups:
            if len(node) != 1:
                raise _invalid(at, "a group has exactly one key: and, or or not")
            key = groups[0]
            if key == "not":
                return Not(parse(node["not"], f"{at}.not", depth + 1))
            children = node[key]
            if not isinstance(children, list) or not children:
                raise _invalid(f"{at}.{key}", "must be a non-empty list of conditions")
            parsed = tuple(parse(child, f"{at}.{key}[{i}]", depth + 1) for i, child in enumerate(children))
            return Group(all_of=key == "and", children=parsed)
        leaves[0] += 1
        if leaves[0] > MAX_LEAVES:
            raise _invalid(path, f"more than {MAX_LEAVES} conditions", f"where has more than {MAX_LEAVES} conditions")
        return _parse_leaf(node, at)

    return parse(raw, path, 1)


def _parse_leaf(node: dict[str, Any], at: str) -> Leaf:
    unexpected = sorted(set(node) - {"field", "op", "value", "other"})
    if unexpected or "field" not in node or "op" not in node:
        raise _invalid(at, "a condition is {field, op, value} or {field, op, other}; or a group: and, or, not")
    field = lookup_field(node["field"], f"{at}.field")
    op = node["op"]
    if not isinstance(op, str):
        raise _invalid(f"{at}.op", "must be a string")
    if ("value" in node) == ("other" in node):
        raise _invalid(at, "give exactly one of value or other")
    if "other" not in node:
        return leaf(field, op, node["value"], at)
    other = lookup_field(node["other"], f"{at}.other")
    if op not in _COMPARE or not field.numeric or not other.numeric:
        raise _invalid(at, "a column-vs-column condition compares two numeric fields with <, <=, >, >=, == or !=")
    return Leaf(field, op, other=other)


# -- evaluation ------------------------------------------------------------------------------------------------
#
# Every leaf is evaluated through its positive form (``==``, ``<``, ``in``, ``between``...; ``!=`` and
# ``not_in`` are the negations of ``==`` and ``in``). A positive comparison is false wherever a value is missing
# (NaN compares false, a null category has id -1), so "definitely true" and "definitely false" each cost one
# comparison, plus the column's cached known-mask on one side only.

_NEGATED: Final = {"!=": "==", "not_in": "in"}


def matches(node: Node, table: ScreenTable) -> Mask:
    """The rows where ``node`` is definitely true."""
    if isinstance(node, Leaf):
        return _leaf(node, table, want=True)
    if isinstance(node, Not):
        return fails(node.child, table)
    return _accumulate([matches(child, table) for child in node.children], node.all_of)


def fails(node: Node, table: ScreenTable) -> Mask:
    """The rows where ``node`` is definitely false."""
    if isinstance(node, Leaf):
        return _leaf(node, table, want=False)
    if isinstance(node, Not):
        return matches(node.child, table)
    return _accumulate([fails(child, table) for child in node.children], not node.all_of)


def _accumulate(masks: list[Mask], conjunction: bool) -> Mask:
    """AND (or OR) of ``masks``, in place in a copy of the first."""
    combined = masks[0].copy()
    for mask in masks[1:]:
        if conjunction:
            combined &= mask
        else:
            combined |= mask
    return combined


def _leaf(node: Leaf, table: ScreenTable, want: bool) -> Mask:
    op = _NEGATED.get(node.op, node.op)
    positive = _positive(node, op, table)
    if (op == node.op) == want:
        return positive
    known = table.known(node.field.name)
    if node.other is not None:
        known = known & table.known(node.other.name)
    return ~positive & known


def _positive(node: Leaf, op: str, table: ScreenTable) -> Mask:
    field = node.field
    if field.kind is Kind.CATEGORY:
        category = table.categories[field.name]
        if op == "in":
            result: Mask = np.isin(category.ids, category.ids_of(node.value))
            return result
        equal: Mask = category.ids == category.lookup.get(node.value, -2)
        return equal
    values = table.values(field.name)
    if node.other is not None:
        compared: Mask = _COMPARE[op](values, table.values(node.other.name))
        return compared
    if op == "between":
        low: float | None
        high: float | None
        low, high = node.value
        if low is None:
            return values <= high
        return values >= low if high is None else (values >= low) & (values <= high)
    if op == "in":
        result = np.isin(values, np.array(node.value, dtype=np.float64))
        return result
    compared = _COMPARE[op](values, float(node.value))  # flags compare as 1.0 / 0.0
    return compared
